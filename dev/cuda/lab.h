// The kernel lab's shared harness (dev/cuda/README.md): command line, timing with CUDA
// events and an L2 flush between repeats, and the printed columns (ms, TFLOP/s, GB/s, % of
// the roofline from cuda/gpu_peaks.h). Validation and random inputs come from the kernel
// tests' helpers (tests/cuda/cuda_test.h), so the lab and the tests judge alike.
// Under the emulator the programs validate and skip the timing, and say so: emulated time
// is host time and means nothing for a GPU.
#pragma once
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cuda/gpu_peaks.h"
#include "tests/cuda/cuda_test.h"

struct LabArgs {
    int version = 0;  // 0: all
    int B = 2, T = 64, NH = 12, hs = 64, repeats = 20;
    long params = 0;  // -p: the optimizer programs' parameter count; 0: the program's default
    bool validate_only = false;
};

// prog [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-p PARAMS] [-r REPEATS] [--validate-only]
inline LabArgs lab_args(int argc, char** argv, int nversions, const char* versions_help) {
    LabArgs a;
    auto usage = [&]() {
        printf("usage: %s [VERSION|all] [-b B] [-t T] [-n NH] [-s HEAD_SIZE] [-p PARAMS] [-r REPEATS] [--validate-only]\n"
               "versions:\n%s"
               "defaults: all versions, -b 2 -t 64 -n 12 -s 64 -r 20. -p: the parameter count of adamw and\n"
               "global_norm (default GPT-2 Small's 124475904 on a GPU, 1000003 emulated). Every version is\n"
               "validated against the CPU op first; then timed (CUDA events, L2 flushed before each repeat)\n"
               "unless --validate-only or the device is the emulator.\n",
               argv[0], versions_help);
        exit(2);
    };
    for (int i = 1; i < argc; i++) {
        const std::string s = argv[i];
        auto num = [&]() {
            if (i + 1 >= argc) usage();
            const long v = atol(argv[++i]);
            if (v <= 0 || v > (s == "-p" ? (1l << 40) : (long)INT_MAX)) usage();
            return v;
        };
        if (s == "-b") a.B = num();
        else if (s == "-t") a.T = num();
        else if (s == "-n") a.NH = num();
        else if (s == "-s") a.hs = num();
        else if (s == "-r") a.repeats = num();
        else if (s == "-p") a.params = num();
        else if (s == "--validate-only") a.validate_only = true;
        else if (s == "all") a.version = 0;
        else if (s == "-h" || s == "--help") usage();
        else if (atoi(s.c_str()) >= 1 && atoi(s.c_str()) <= nversions) a.version = atoi(s.c_str());
        else usage();
    }
    return a;
}

// The device's name, and whether timing means anything on it.
struct LabDevice {
    char name[256] = {};
    bool emulated = false;
    const noln::GPUPeak* peak = nullptr;
    LabDevice() {
        cudaDeviceProp p;
        CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
        snprintf(name, sizeof name, "%s", p.name);
        emulated = strstr(name, "cuemu") != nullptr;
        peak = noln::gpu_peak(name);
    }
};

// Runs fn `repeats` times after one warm-up, each time after overwriting a buffer twice
// the size of the L2 (so every version starts from cold caches, as in a training step where
// the other layers evicted its inputs), and returns the mean milliseconds of fn alone.
inline double lab_time_ms(const std::function<void()>& fn, int repeats) {
    int l2 = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
    const size_t flush_bytes = std::max<size_t>(2 * (size_t)l2, 1u << 20);
    void* flush = nullptr;
    CUDA_CHECK(cudaMalloc(&flush, flush_bytes));
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    fn();  // warm-up (lazy initialisation, cuBLASLt heuristics)
    double total = 0;
    for (int r = 0; r < repeats; r++) {
        CUDA_CHECK(cudaMemset(flush, r & 0xFF, flush_bytes));
        CUDA_CHECK(cudaEventRecord(e0));
        fn();
        CUDA_CHECK(cudaEventRecord(e1));
        CUDA_CHECK(cudaEventSynchronize(e1));
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        total += ms;
    }
    CUDA_CHECK(cudaEventDestroy(e0));
    CUDA_CHECK(cudaEventDestroy(e1));
    CUDA_CHECK(cudaFree(flush));
    return total / repeats;
}

// One line per timed version. flops: the op's useful arithmetic; bytes: what the op must
// move at least (its inputs read once, its outputs written once), whatever the version
// really moves, so GB/s and TFLOP/s compare versions on the same work. The roofline time
// is max(flops / peak, bytes / bandwidth) at this build's precision; % = that / measured.
inline void lab_print_header() {
    printf("  %-44s %9s %9s %9s %10s\n", "version", "ms", "TFLOP/s", "GB/s", "%roofline");
}
inline void lab_print_timing(const LabDevice& dev, const char* name, double ms, double flops, double bytes) {
    const double s = ms * 1e-3;
    char roof[32] = "n/a";
    if (dev.peak) {
        const double peak = (IS_FP32 ? dev.peak->fp32 : dev.peak->bf16) * 1e12, bw = dev.peak->hbm_tbs * 1e12;
        snprintf(roof, sizeof roof, "%.1f%%", 100.0 * std::max(flops / peak, bytes / bw) / s);
    }
    printf("  %-44s %9.3f %9.2f %9.1f %10s\n", name, ms, flops / s * 1e-12, bytes / s * 1e-9, roof);
}
inline void lab_print_roofline_basis(const LabDevice& dev, double flops, double bytes, const char* what = "this op") {
    if (!dev.peak) {
        printf("%s is not in cuda/gpu_peaks.h: %%roofline n/a\n", dev.name);
        return;
    }
    const double peak = IS_FP32 ? dev.peak->fp32 : dev.peak->bf16;
    printf("%s: %s peak %.0f TFLOP/s, HBM %.2f TB/s; %s: %.3f GFLOP, %.1f MB -> roofline %.3f ms\n", dev.name,
           PRECISION_NAME, peak, dev.peak->hbm_tbs, what, flops * 1e-9, bytes * 1e-6,
           1e3 * std::max(flops / (peak * 1e12), bytes / (dev.peak->hbm_tbs * 1e12)));
}

// Timing is skipped, and the program says why, with --validate-only and under the emulator.
inline bool lab_skip_timing(const LabArgs& a, const LabDevice& dev) {
    if (!a.validate_only && !dev.emulated) return false;
    printf("timing skipped: %s\n", a.validate_only ? "--validate-only" : "emulated device (host time means nothing for a GPU)");
    return true;
}

// One timed part of an op (its forward, its backward, ...): the roofline basis line, the
// header, then one row per version in `versions` (those that passed), run(v) being one call
// of version v's part. names[v] is the row's name.
inline void lab_time_part(const LabDevice& dev, const LabArgs& a, const char* part, double flops, double bytes,
                          const std::vector<int>& versions, const char* const* names,
                          const std::function<void(int)>& run) {
    lab_print_roofline_basis(dev, flops, bytes, part);
    lab_print_header();
    for (int v : versions) lab_print_timing(dev, names[v], lab_time_ms([&] { run(v); }, a.repeats), flops, bytes);
}

// Runs validate(v) for each requested version (all of 1..n, or the one asked for) and
// returns the versions whose checks all passed: the ones worth timing.
inline std::vector<int> lab_validate(const LabArgs& a, int n, const std::function<void(int)>& validate) {
    std::vector<int> passed;
    for (int v = 1; v <= n; v++) {
        if (a.version && a.version != v) continue;
        const int before = g_failed;
        validate(v);
        if (g_failed == before) passed.push_back(v);
    }
    return passed;
}

// CHECK_CLOSE's check (tests/cuda/cuda_test.h), with the error measured once and printed
// (the suite counts these lines).
#define LAB_CLOSE(got, want, t, version, what)                                                        \
    do {                                                                                            \
        const double e_ = max_err(got, want), t_ = (t);                                             \
        CHECK(e_ <= t_, "%s: %s [%s]: max error %.3g > tolerance %.3g", version, what, PRECISION_NAME, e_, t_); \
        printf("  %-44s %-24s max err %.3g (tolerance %.3g)\n", version, what, e_, t_);            \
    } while (0)

// Byte-for-byte equality of two downloads (to_host, tests/emu/check.h): the bitwise reruns.
template <typename T>
bool lab_same_bits(const std::vector<T>& x, const std::vector<T>& y) {
    return x.size() == y.size() && memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0;
}

// dst = src, n elements on the device (resetting an accumulated output to its start).
template <typename T>
void lab_copy(T* dst, const T* src, size_t n) {
    CUDA_CHECK(cudaMemcpy(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice));
}

// The optimizer programs' parameter count: -p, else GPT-2 Small's (124475904, the vocabulary
// padded to 50304) on a GPU and 1000003 (odd: the scalar tails) under the emulator.
inline size_t lab_params(const LabArgs& a, const LabDevice& dev) {
    return a.params ? (size_t)a.params : dev.emulated ? 1000003 : 124475904;
}

// n uniform values in [lo, hi): chunks of 2^20 values, each from its own Rng (seeded by
// seed and the chunk index), made in parallel; the same values for any thread count.
inline Vd lab_random(size_t n, double lo, double hi, uint64_t seed) {
    Vd v(n);
    const size_t chunk = 1u << 20, chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic)
    for (size_t c = 0; c < chunks; c++) {
        Rng r(seed * 1000003 + c);
        for (size_t i = c * chunk; i < std::min(n, (c + 1) * chunk); i++) v[i] = r.uniform(lo, hi);
    }
    return v;
}
