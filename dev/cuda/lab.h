// The kernel lab's shared harness (dev/cuda/README.md): command line, timing with CUDA
// events and an L2 flush between repeats, and the printed columns (ms, TFLOP/s, GB/s, % of
// the roofline from cuda/gpu_peaks.h). Validation and random inputs come from the kernel
// tests' helpers (tests/cuda/cuda_test.h), so the lab and the tests judge alike.
// Under the emulator the programs validate and skip the timing, and say so: emulated time
// is host time and means nothing for a GPU.
#pragma once
#include <algorithm>
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
    bool validate_only = false;
};

// prog [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
inline LabArgs lab_args(int argc, char** argv, int nversions, const char* versions_help) {
    LabArgs a;
    auto usage = [&]() {
        printf("usage: %s [VERSION|all] [-b B] [-t T] [-n NH] [-s HEAD_SIZE] [-r REPEATS] [--validate-only]\n"
               "versions:\n%s"
               "defaults: all versions, -b 2 -t 64 -n 12 -s 64 -r 20. Every version is validated against the\n"
               "CPU op first; then timed (CUDA events, L2 flushed before each repeat) unless --validate-only\n"
               "or the device is the emulator.\n",
               argv[0], versions_help);
        exit(2);
    };
    for (int i = 1; i < argc; i++) {
        const std::string s = argv[i];
        auto num = [&]() {
            if (i + 1 >= argc) usage();
            const int v = atoi(argv[++i]);
            if (v <= 0) usage();
            return v;
        };
        if (s == "-b") a.B = num();
        else if (s == "-t") a.T = num();
        else if (s == "-n") a.NH = num();
        else if (s == "-s") a.hs = num();
        else if (s == "-r") a.repeats = num();
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
inline void lab_print_roofline_basis(const LabDevice& dev, double flops, double bytes) {
    if (!dev.peak) {
        printf("%s is not in cuda/gpu_peaks.h: %%roofline n/a\n", dev.name);
        return;
    }
    const double peak = IS_FP32 ? dev.peak->fp32 : dev.peak->bf16;
    printf("%s: %s peak %.0f TFLOP/s, HBM %.2f TB/s; this op: %.3f GFLOP, %.1f MB -> roofline %.3f ms\n", dev.name,
           PRECISION_NAME, peak, dev.peak->hbm_tbs, flops * 1e-9, bytes * 1e-6,
           1e3 * std::max(flops / (peak * 1e12), bytes / (dev.peak->hbm_tbs * 1e12)));
}
