// The kernel lab's GELU (tanh form, GPT-2's; the erf form of --gelu erf validated too),
// forward and backward, every version validated against cpu/gelu.h, then timed on a GPU.
// N = B*T*4C elements (the MLP's hidden activations), C = NH*HS.
//   ./gelu [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/gelu_v1.cuh): the backward accumulates, so the trainer
//     zeroed dinp first; timed as that step: cudaMemset + the kernel
// v2: kernels/gelu.cuh: a first write (overwrite, as the trainer calls it: no memset),
//     dout read with streaming loads; also validated accumulating
// The forward is one kernel in both (issue 12 added only the erf switch).
#include "cpu/gelu.h"
#include "dev/cuda/gelu_v1.cuh"
#include "dev/cuda/lab.h"

static const char* const NAMES[] = {"", "v1 memset + accumulate (before issue 12)", "v2 overwrite, streaming (kernels/)"};
static const char* const FWD_NAMES[] = {"", "v1 = v2 (unchanged)", "v2 (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  memset + accumulate (before issue 12)\n  2  overwrite (the trainer's)\n");
    const long N = (long)a.B * a.T * 4 * a.NH * a.hs;
    const LabDevice dev;
    printf("gelu [%s] on %s: N=%ld elements (B=%d T=%d 4C=%d)\n", PRECISION_NAME, dev.name, N, a.B, a.T,
           4 * a.NH * a.hs);
    Rng r(9 + N);
    Vd x = rounded(lab_random(N, -4, 4, 1)), dout = rounded(lab_random(N, -1, 1, 2));
    Vd dinp0 = rounded(lab_random(N, -1, 1, 3));
    Vd out(N), out_erf(N), dacc = dinp0, dnew(N, 0.0), dnew_erf(N, 0.0);
    noln::gelu_forward(out.data(), x.data(), N);
    noln::gelu_forward(out_erf.data(), x.data(), N, noln::Gelu::Erf);
    noln::gelu_backward(dacc.data(), x.data(), dout.data(), N);  // onto dinp0
    noln::gelu_backward(dnew.data(), x.data(), dout.data(), N);  // from zero: the first write
    noln::gelu_backward(dnew_erf.data(), x.data(), dout.data(), N, noln::Gelu::Erf);
    floatX *d_x = to_dev<floatX>(x), *d_out = dev_alloc<floatX>(N), *d_dout = to_dev<floatX>(dout);
    floatX *d_dinp = dev_alloc<floatX>(N), *d_dinp0 = to_dev<floatX>(dinp0);
    auto nan_fill = [&](floatX* p) { CUDA_CHECK(cudaMemset(p, 0xFF, N * sizeof(floatX))); };
    auto forward = [&](int) { gelu_forward(d_out, d_x, N); };
    auto backward = [&](int v) {  // as each version's trainer ran it
        if (v == 1) {
            CUDA_CHECK(cudaMemset(d_dinp, 0, N * sizeof(floatX)));
            gelu_backward_v1(d_dinp, d_x, d_dout, N);
        } else {
            gelu_backward(d_dinp, d_x, d_dout, N, noln::Gelu::Tanh, 0, true);
        }
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        nan_fill(d_out);  // NaN where nothing is written
        forward(v);
        LAB_CLOSE(from_dev(d_out, N), out, tol(2), FWD_NAMES[v], "out");
        // each version's own contract: v1 accumulates; v2 accumulates or overwrites
        lab_copy(d_dinp, d_dinp0, N);
        v == 1 ? gelu_backward_v1(d_dinp, d_x, d_dout, N) : gelu_backward(d_dinp, d_x, d_dout, N);
        LAB_CLOSE(from_dev(d_dinp, N), dacc, tol(2), NAMES[v], "dinp (accumulated)");
        nan_fill(d_dinp);  // the step as timed; v2's overwrite must not read the NaN
        backward(v);
        LAB_CLOSE(from_dev(d_dinp, N), dnew, tol(2), NAMES[v], "dinp (first write)");
        if (v == 2) {  // the erf form (--gelu erf) against the CPU's double erf
            nan_fill(d_out);
            gelu_forward(d_out, d_x, N, noln::Gelu::Erf);
            LAB_CLOSE(from_dev(d_out, N), out_erf, tol(2), FWD_NAMES[v], "out (erf)");
            nan_fill(d_dinp);
            gelu_backward(d_dinp, d_x, d_dout, N, noln::Gelu::Erf, 0, true);
            LAB_CLOSE(from_dev(d_dinp, N), dnew_erf, tol(2), NAMES[v], "dinp (erf, first write)");
        }
    });
    if (lab_skip_timing(a, dev)) return summary();
    const double xs = sizeof(floatX);
    // forward: reads x, writes out (about 20 FLOPs per element with the tanh); one version
    std::vector<int> fwd;
    for (int v : passed) if (v == 2) fwd.push_back(v);
    lab_time_part(dev, a, "forward", 20.0 * N, 2.0 * xs * N, fwd, FWD_NAMES, forward);
    // backward as a first write: reads x and dout, writes dinp (v1 also zeroes dinp and reads it back)
    lab_time_part(dev, a, "backward", 30.0 * N, 3.0 * xs * N, passed, NAMES, backward);
    return summary();
}
