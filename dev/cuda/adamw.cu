// The kernel lab's AdamW update (kernels/adamw.cuh; the formula in cpu/adamw.h): moments in
// fp32; in the BF16 build an fp32 master copy is updated and the bf16 parameter is its
// stochastic rounding. Every version validated against cpu/adamw.h, then timed on a GPU,
// on one tensor of P parameters (-p; default GPT-2 Small's 124475904 on a GPU, 1000003
// emulated). The trainer makes one such call per parameter tensor (16 per step).
//   ./adamw [VERSION|all] [-p PARAMS] [-r REPEATS] [--validate-only]   (-b -t -n -s ignored)
// v1: before issue 12 (dev/cuda/adamw_v1.cuh): one element per thread, scalar accesses
// v2: kernels/adamw.cuh: 16 bytes of floatX per thread, every array read and written with
//     128-bit streaming accesses
#include "cpu/adamw.h"
#include "dev/cuda/adamw_v1.cuh"
#include "dev/cuda/lab.h"

static const char* const NAMES[] = {"", "v1 scalar (before issue 12)", "v2 128-bit chunks, streaming (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const LabDevice dev;
    const size_t n = lab_params(a, dev);
    printf("adamw [%s] on %s: %zu parameters\n", PRECISION_NAME, dev.name, n);
    const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, gs = 0.5;  // (tests/cuda/test_basic.cu's)
    const int t = 3;
    const uint32_t seed = 1234;
    const Vd p0 = rounded(lab_random(n, -1, 1, 1)), g = rounded(lab_random(n, -0.1, 0.1, 2));
    floatX *d_p0 = to_dev<floatX>(p0), *d_g = to_dev<floatX>(g), *d_p = dev_alloc<floatX>(n);
    float *d_m0 = to_dev<float>(lab_random(n, -0.01, 0.01, 3)), *d_v0 = to_dev<float>(lab_random(n, 0, 1e-3, 4));
    float *d_m = dev_alloc<float>(n), *d_v = dev_alloc<float>(n);
    float *d_master0 = IS_FP32 ? nullptr : to_dev<float>(p0), *d_master = IS_FP32 ? nullptr : dev_alloc<float>(n);
    // the oracle starts from the fp32 moments the kernels start from
    Vd m = from_dev(d_m0, n), v = from_dev(d_v0, n), p = p0;
    noln::adamw_update(p.data(), g.data(), m.data(), v.data(), n, lr, b1, b2, eps, wd, gs, t);
    auto run = [&](int ver) {
        if (ver == 1)
            adamw_update_v1(d_p, d_master, d_g, d_m, d_v, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd,
                            (float)gs, t, seed);
        else
            adamw_update(d_p, d_master, d_g, d_m, d_v, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd,
                         (float)gs, t, seed);
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int ver) {
        lab_copy(d_p, d_p0, n);
        lab_copy(d_m, d_m0, n);
        lab_copy(d_v, d_v0, n);
        if (d_master) lab_copy(d_master, d_master0, n);
        run(ver);
        // fp32 arithmetic on fp32 state, one step (tests/cuda/test_basic.cu)
        LAB_CLOSE(from_dev(d_m, n), m, 1e-6, NAMES[ver], "m");
        LAB_CLOSE(from_dev(d_v, n), v, 1e-6, NAMES[ver], "v");
        if (IS_FP32) {
            LAB_CLOSE(from_dev(d_p, n), p, 1e-6, NAMES[ver], "params");
            return;
        }
        const Vd master = from_dev(d_master, n), got = from_dev(d_p, n);
        LAB_CLOSE(master, p, 1e-6, NAMES[ver], "master");
        // the bf16 parameter is one of the two bf16 neighbours of its master (stochastic rounding)
        size_t bad = 0;
#pragma omp parallel for reduction(+ : bad)
        for (size_t i = 0; i < n; i++) {
            const float x = (float)master[i];
            uint32_t bits, lo, hi;
            memcpy(&bits, &x, 4);
            lo = bits & 0xFFFF0000u;
            hi = lo + 0x10000u;
            float flo, fhi;
            memcpy(&flo, &lo, 4);
            memcpy(&fhi, &hi, 4);
            bad += (float)got[i] != flo && (float)got[i] != fhi;
        }
        CHECK(bad == 0, "%s: %zu bf16 params are not a neighbour of their master", NAMES[ver], bad);
        printf("  %-44s %-24s %zu of %zu not a neighbour of the master\n", NAMES[ver], "params", bad, n);
    });
    if (lab_skip_timing(a, dev)) return summary();
    // per parameter: reads the gradient, m, v and the parameter (the fp32 master in BF16),
    // writes m, v and the parameter (and the master). Each repeat steps again from the last.
    const double xs = sizeof(floatX), per = xs + 16.0 + (IS_FP32 ? 2.0 * xs : 8.0 + xs);
    lab_time_part(dev, a, "AdamW step", 15.0 * n, per * n, passed, NAMES, run);
    return summary();
}
