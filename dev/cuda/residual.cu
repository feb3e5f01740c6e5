// The kernel lab's residual add, forward (out = a + b) and backward (dout accumulated into
// both inputs' gradients), every version validated against cpu/residual.h, then timed on a
// GPU. N = B*T*C elements, C = NH*HS. (The trainer fuses the forward into the LN site,
// kernels/ln_path.cuh, and lets its GEMMs accumulate into the residual stream's gradient, so
// these kernels serve the other callers; the lab keeps them measured.)
//   ./residual [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/residual_v1.cuh): a scalar backward; the forward was
//     already 128-bit and is the same kernel in both versions
// v2: kernels/residual.cuh: the backward in 16-byte chunks, dout read with streaming loads
#include "cpu/residual.h"
#include "dev/cuda/lab.h"
#include "dev/cuda/residual_v1.cuh"

static const char* const NAMES[] = {"", "v1 scalar backward (before issue 12)", "v2 128-bit chunks (kernels/)"};
static const char* const FWD_NAMES[] = {"", "v1 = v2 128-bit (unchanged)", "v2 128-bit (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar backward (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const long N = (long)a.B * a.T * a.NH * a.hs;
    const LabDevice dev;
    printf("residual [%s] on %s: N=%ld elements (B=%d T=%d C=%d)\n", PRECISION_NAME, dev.name, N, a.B, a.T,
           a.NH * a.hs);
    Rng r(5 + N);
    Vd xa = rounded(lab_random(N, -3, 3, 1)), xb = rounded(lab_random(N, -3, 3, 2));
    Vd dout = rounded(lab_random(N, -1, 1, 3));
    Vd da0 = rounded(lab_random(N, -1, 1, 4)), db0 = rounded(lab_random(N, -1, 1, 5));  // accumulated onto
    Vd out(N), da = da0, db = db0;
    noln::residual_forward(out.data(), xa.data(), xb.data(), N);
    noln::residual_backward(da.data(), db.data(), dout.data(), N);
    floatX *d_a = to_dev<floatX>(xa), *d_b = to_dev<floatX>(xb), *d_out = dev_alloc<floatX>(N);
    floatX *d_dout = to_dev<floatX>(dout), *d_da = dev_alloc<floatX>(N), *d_db = dev_alloc<floatX>(N);
    floatX *d_da0 = to_dev<floatX>(da0), *d_db0 = to_dev<floatX>(db0);
    auto forward = [&](int) { residual_forward(d_out, d_a, d_b, N); };
    auto backward = [&](int v) {
        v == 1 ? residual_backward_v1(d_da, d_db, d_dout, N) : residual_backward(d_da, d_db, d_dout, N);
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        CUDA_CHECK(cudaMemset(d_out, 0xFF, N * sizeof(floatX)));  // NaN where nothing is written
        forward(v);
        LAB_CLOSE(from_dev(d_out, N), out, tol(2), FWD_NAMES[v], "out");
        lab_copy(d_da, d_da0, N);
        lab_copy(d_db, d_db0, N);
        backward(v);
        LAB_CLOSE(from_dev(d_da, N), da, tol(2), NAMES[v], "da (accumulated)");
        LAB_CLOSE(from_dev(d_db, N), db, tol(2), NAMES[v], "db (accumulated)");
    });
    if (lab_skip_timing(a, dev)) return summary();
    const double xs = sizeof(floatX);
    // forward: reads a and b, writes out; one version (the kernel did not change)
    std::vector<int> fwd;
    for (int v : passed) if (v == 2) fwd.push_back(v);
    lab_time_part(dev, a, "forward", (double)N, 3.0 * xs * N, fwd, FWD_NAMES, forward);
    // backward: reads dout, reads and writes da and db (each repeat adds dout again)
    lab_time_part(dev, a, "backward", 2.0 * N, 5.0 * xs * N, passed, NAMES, backward);
    return summary();
}
