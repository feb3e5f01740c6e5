// A minimal test harness for the emulator's test programs (which are .cu files that must
// also build with the real nvcc, so no Catch2): CHECK counts, main prints the summary
// line tests/run_suites.sh reads.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

static int g_passed = 0, g_failed = 0;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        if (cond) g_passed++;                                                    \
        else {                                                                   \
            g_failed++;                                                          \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);               \
            printf(__VA_ARGS__);                                                 \
            printf("\n");                                                        \
        }                                                                        \
    } while (0)

#define CUDA_OK(x)                                                                              \
    do {                                                                                        \
        cudaError_t e_ = (x);                                                                   \
        if (e_ != cudaSuccess) { printf("FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); g_failed++; } \
    } while (0)

// Largest |a - b| relative to max(1, |b|) over n elements.
inline double max_rel_err(const float* a, const float* b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) {
        double d = std::fabs((double)a[i] - (double)b[i]) / std::fmax(1.0, std::fabs((double)b[i]));
        if (!(d <= m)) m = d;  // NaN propagates as a failure
    }
    return m;
}

inline int summary() {
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}

// Test data and transfers shared by the emulator's test programs: a uniform value in
// [-1, 1] from rand(), and a host vector to a new device buffer and back.
inline float frand() { return (float)rand() / RAND_MAX * 2.0f - 1.0f; }

template <typename T>
static T* to_device(const std::vector<T>& h) {
    T* d = nullptr;
    cudaMalloc(&d, h.size() * sizeof(T));
    cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
    return d;
}
template <typename T>
static std::vector<T> to_host(const T* d, size_t n) {
    std::vector<T> h(n);
    cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
}
