// The kernel lab's LN site forward (the trainer's common case: residual add fused, one REAL
// path, the sigma observation): every version validated against cpu/layernorm.h, then timed
// on a GPU. Shapes: rows B*T of C = NH*HS channels (-b 8 -t 1024 -n 12: GPT-2 Small).
//   ./ln_forward [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/ln_forward_v1.cuh, scalar 16-bit accesses)
// v2: kernels/ln_path.cuh (16-byte chunks, streaming loads of the residual addends)
// Beside them, -r 2's recompute (ln_path_recompute: the outputs again from the stored sum,
// means and rstds): it must give v2's output bit for bit, and is timed as its own part.
#include "cpu/layernorm.h"
#include "cpu/residual.h"
#include "dev/cuda/lab.h"
#include "dev/cuda/ln_forward_v1.cuh"

static const char* const NAMES[] = {"", "v1 scalar (before issue 12)", "v2 128-bit chunks (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar loads (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const int N = a.B * a.T, C = a.NH * a.hs;
    const size_t NC = (size_t)N * C;
    const LabDevice dev;
    printf("ln_forward [%s] on %s: N=%d rows (B=%d T=%d), C=%d\n", PRECISION_NAME, dev.name, N, a.B, a.T, C);
    Rng r(7 + C);
    Vd xa = rounded(r.vec(NC, -2, 2)), xb = rounded(r.vec(NC, -1, 1));
    Vd w = rounded(r.vec(C, 0.5, 1.5)), bias = rounded(r.vec(C, -0.5, 0.5));
    Vd x(NC), want(NC), mean(N), rstd(N);
    noln::residual_forward(x.data(), xa.data(), xb.data(), (long)NC);
    x = rounded(x);  // the kernel normalises the stored (rounded) sum
    noln::layernorm_forward(want.data(), mean.data(), rstd.data(), x.data(), w.data(), bias.data(), N, C,
                            (const double*)nullptr);
    floatX *d_a = to_dev<floatX>(xa), *d_b = to_dev<floatX>(xb), *d_x = dev_alloc<floatX>(NC);
    floatX *d_w = to_dev<floatX>(w), *d_bias = to_dev<floatX>(bias), *d_out = dev_alloc<floatX>(NC);
    float *d_mean = dev_alloc<float>(N), *d_rstd = dev_alloc<float>(N);
    float *d_part = dev_alloc<float>(2 * ln_forward_blocks(N)), *d_obs = dev_alloc<float>(2);
    LNPathParams real{};  // REAL: zero-initialised state
    LNPathParams* d_p = dev_alloc<LNPathParams>(1);
    CUDA_CHECK(cudaMemcpy(d_p, &real, sizeof real, cudaMemcpyHostToDevice));
    LNSiteForward f;
    f.p1 = {d_out, d_rstd, d_p};
    f.mean = d_mean;
    f.x = d_a;
    f.resid_b = d_b;
    f.resid_out = d_x;
    f.w = d_w;
    f.b = d_bias;
    f.obs_partial = d_part;
    f.obs = d_obs;
    f.N = N;
    f.T = a.T;
    f.C = C;
    auto run = [&](int v) { v == 1 ? ln_forward_v1(f) : ln_path_forward(f); };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        CUDA_CHECK(cudaMemset(d_out, 0xFF, NC * sizeof(floatX)));  // NaN where nothing is written
        CUDA_CHECK(cudaMemset(d_x, 0xFF, NC * sizeof(floatX)));
        run(v);
        LAB_CLOSE(from_dev(d_x, NC), x, tol(2), NAMES[v], "residual sum");
        LAB_CLOSE(from_dev(d_out, NC), want, tol(2), NAMES[v], "normalised output");
        LAB_CLOSE(from_dev(d_mean, N), mean, 1e-5, NAMES[v], "mean");
        LAB_CLOSE(from_dev(d_rstd, N), rstd, 1e-4, NAMES[v], "rstd");
    });
    // -r 2: after v2's forward, the recompute writes the same output bytes into another buffer
    floatX* d_out2 = dev_alloc<floatX>(NC);
    LNSiteForward fr = f;
    fr.p1.out = d_out2;
    fr.obs = nullptr;  // the recompute observes nothing (it must not need these either)
    fr.obs_partial = nullptr;
    ln_path_forward(f);
    CUDA_CHECK(cudaMemset(d_out2, 0xFF, NC * sizeof(floatX)));
    ln_path_recompute(fr);
    const bool same = lab_same_bits(to_host(d_out, NC), to_host(d_out2, NC));
    CHECK(same, "recompute (-r 2): output differs from v2's forward [%s]", PRECISION_NAME);
    printf("  %-44s %-24s %s\n", "recompute (-r 2, kernels/)", "output vs v2's", same ? "bit for bit" : "DIFFERS");
    if (lab_skip_timing(a, dev)) return summary();
    // reads x, b; writes the sum and the output (gamma, beta and the stats are small)
    const double bytes = sizeof(floatX) * 4.0 * NC + 12.0 * N, flops = 10.0 * NC;
    lab_time_part(dev, a, "forward", flops, bytes, passed, NAMES, run);
    // the recompute reads the stored sum and writes the output (and reads mean, rstd)
    static const char* const RNAMES[] = {"", "", "recompute (-r 2, kernels/)"};
    if (same)
        lab_time_part(dev, a, "recompute", 5.0 * NC, sizeof(floatX) * 2.0 * NC + 8.0 * N, {2}, RNAMES,
                      [&](int) { ln_path_recompute(fr); });
    return summary();
}
