// The kernel lab's gradient norm (kernels/global_norm.cuh): the squared L2 norm as GN_BLOCKS
// fixed partial sums and a one-block fixed-order finish (deterministic). Every version
// validated against cpu/global_norm.h, then timed on a GPU, on one tensor of P values (-p;
// default GPT-2 Small's 124475904 on a GPU, 1000003 emulated). The trainer makes one
// partial call per parameter tensor (16 slots) and one finish.
//   ./global_norm [VERSION|all] [-p PARAMS] [-r REPEATS] [--validate-only]   (-b -t -n -s ignored)
// v1: before issue 12 (dev/cuda/global_norm_v1.cuh): one scalar load per thread and step
// v2: kernels/global_norm.cuh: 16-byte chunks, streaming loads
#include "cpu/global_norm.h"
#include "dev/cuda/global_norm_v1.cuh"
#include "dev/cuda/lab.h"

static const char* const NAMES[] = {"", "v1 scalar (before issue 12)", "v2 128-bit chunks (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const LabDevice dev;
    const size_t n = lab_params(a, dev);
    printf("global_norm [%s] on %s: %zu values\n", PRECISION_NAME, dev.name, n);
    const Vd g = rounded(lab_random(n, -1, 1, 1));
    const double want = noln::global_norm_squared(g.data(), n);
    // fp32 sums of positive terms: each thread adds n / (GN_BLOCKS GN_THREADS) of them in a
    // chain, then the block and finish trees add ~30 levels; the worst-case relative error
    // of such a sum is about 2^-24 per addition in the longest chain. 1e-5 at least (the
    // kernel test's); at 124M values the chains are ~1900 long: 1.2e-4. (Measured emulated
    // at 124475904: 5.5e-6 in BF16, whose exact squares round alike; 2.9e-8 in FP32.)
    const double tol_rel = std::max(1e-5, std::ldexp((double)n / (GN_BLOCKS * GN_THREADS) + 64, -24));
    floatX* d_g = to_dev<floatX>(g);
    float *d_part = dev_alloc<float>(GN_BLOCKS), *d_out = dev_alloc<float>(1);
    auto run = [&](int v) {
        v == 1 ? global_norm_squared_partial_v1(d_part, 0, d_g, n) : global_norm_squared_partial(d_part, 0, d_g, n);
        global_norm_squared_finish(d_out, d_part, 1);
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        CUDA_CHECK(cudaMemset(d_out, 0xFF, sizeof(float)));
        run(v);
        const double got = from_dev(d_out, 1)[0], e = std::fabs(got - want) / want;
        CHECK(e <= tol_rel, "%s: norm^2 %.9g vs %.9g", NAMES[v], got, want);
        printf("  %-44s %-24s rel err %.3g (tolerance %.3g)\n", NAMES[v], "norm^2", e, tol_rel);
    });
    if (lab_skip_timing(a, dev)) return summary();
    // reads the values once (the GN_BLOCKS partials are small)
    lab_time_part(dev, a, "squared norm", 2.0 * n, sizeof(floatX) * (double)n, passed, NAMES, run);
    return summary();
}
