// The kernel lab's auxiliary loss (docs/method.md §4, kernels/aux_loss.cuh) at the ln_f
// input h: forward (per-row sigma = sqrt(var + eps), the target S over positions t > 0 that
// are not EOT, L_aux = lambda mean (sigma - S)^2) and backward (dh accumulated), every
// version validated against cpu/aux_loss.h, then timed on a GPU. Rows B*T of C = NH*HS;
// a seventh of the tokens are EOT (50256); lambda 0.1. The backward's dloss (scale * lambda
// in the trainer) is set to N C / 8 here so that dh's increment is O(1) and an error in it
// shows against the bf16 tolerance (the trainer's, ~1e-6 per element, would vanish in it).
//   ./aux_loss [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/aux_loss_v1.cuh): scalar 16-bit loads
// v2: kernels/aux_loss.cuh: 16-byte chunks (the LN site's ln_row_sd)
#include "cpu/aux_loss.h"
#include "dev/cuda/aux_loss_v1.cuh"
#include "dev/cuda/lab.h"

static const char* const NAMES[] = {"", "v1 scalar (before issue 12)", "v2 128-bit chunks (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar loads (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const int B = a.B, T = a.T, N = B * T, C = a.NH * a.hs, EOT = 50256;
    const size_t NC = (size_t)N * C;
    const float lambda = 0.1f, dloss = (float)N * C / 8;
    const LabDevice dev;
    printf("aux_loss [%s] on %s: N=%d rows (B=%d T=%d), C=%d\n", PRECISION_NAME, dev.name, N, B, T, C);
    Rng r(19 + C);
    Vd h = lab_random(NC, -2, 2, 1);
    for (int i = 0; i < N; i++)  // per-row scales, so sigma varies about S
        for (int c = 0; c < C; c++) h[(size_t)i * C + c] = h[(size_t)i * C + c] * (0.5 + i % 3) + (i % 5) - 2;
    h = rounded(h);
    std::vector<int> tok(N);
    for (int i = 0; i < N; i++) tok[i] = r.next() % 7 == 0 ? EOT : (int)(r.next() % EOT);
    Vd sigma(N), dh0 = rounded(lab_random(NC, -1, 1, 2)), dh = dh0;
    double S = 0;
    const double L = noln::aux_loss_forward(sigma.data(), &S, h.data(), tok.data(), B, T, C, EOT, (double)lambda);
    noln::aux_loss_backward(dh.data(), h.data(), sigma.data(), S, (double)dloss, B, T, C);
    floatX *d_h = to_dev<floatX>(h), *d_dh = dev_alloc<floatX>(NC), *d_dh0 = to_dev<floatX>(dh0);
    float *d_sigma = dev_alloc<float>(N), *d_out = dev_alloc<float>(2);
    int* d_tok = to_dev_int(tok);
    auto forward = [&](int v) {
        if (v == 1) aux_loss_forward_v1(d_sigma, d_out, d_h, d_tok, B, T, C, EOT, lambda);
        else aux_loss_forward(d_sigma, d_out, d_h, d_tok, B, T, C, EOT, lambda);
    };
    auto backward = [&](int v) {
        if (v == 1) aux_loss_backward_v1(d_dh, d_h, d_sigma, d_out, dloss, B, T, C);
        else aux_loss_backward(d_dh, d_h, d_sigma, d_out, dloss, B, T, C);
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        CUDA_CHECK(cudaMemset(d_sigma, 0xFF, N * sizeof(float)));
        CUDA_CHECK(cudaMemset(d_out, 0xFF, 2 * sizeof(float)));
        forward(v);
        // fp32 statistics of rows of C bf16 values (the LN site's rstd tolerance, test_ln_path.cu)
        LAB_CLOSE(from_dev(d_sigma, N), sigma, 1e-5, NAMES[v], "sigma");
        const Vd out = from_dev(d_out, 2);
        // S and L_aux: fp32 sums over N rows in one block, judged relative to their size
        CHECK(std::fabs(out[0] - S) <= 1e-5 * S && std::fabs(out[1] - L) <= 1e-4 * L,
              "%s: S %.9g vs %.9g, L_aux %.9g vs %.9g", NAMES[v], out[0], S, out[1], L);
        printf("  %-44s %-24s rel err %.3g, %.3g (tolerance 1e-5, 1e-4)\n", NAMES[v], "S, L_aux",
               std::fabs(out[0] - S) / S, std::fabs(out[1] - L) / L);
        lab_copy(d_dh, d_dh0, NC);
        backward(v);  // from this version's own sigma and S
        // an O(1) increment in fp32, rounded once into the bf16 accumulator
        LAB_CLOSE(from_dev(d_dh, NC), dh, tol(2), NAMES[v], "dh (accumulated)");
    });
    if (lab_skip_timing(a, dev)) return summary();
    const double xs = sizeof(floatX);
    // forward: reads h and the token ids, writes sigma; backward: reads h and sigma, reads and
    // writes dh (each repeat adds again; the work does not depend on the values)
    lab_time_part(dev, a, "forward", 3.0 * NC, xs * NC + 8.0 * N, passed, NAMES, forward);
    lab_time_part(dev, a, "backward", 4.0 * NC, 3.0 * xs * NC + 4.0 * N, passed, NAMES, backward);
    return summary();
}
