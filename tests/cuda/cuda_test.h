// Helpers for the CUDA kernel tests (tests/cuda/*.cu). They build with emu/nvcc-emu (run
// in suite 70) and with the real nvcc (compile-only, suite 79). The oracle for every kernel
// is the CPU op of cpu/*.h run in double on the same (floatX-rounded) inputs.
//
// Tolerances: FP32 builds compare within 1e-5 of max(1, |ref|). BF16 builds derive theirs
// from bf16 epsilon 2^-8: a value rounded once to bf16 is within 2^-9 of itself, so an
// output computed in fp32 and stored once is held to 2 eps of max(1, |ref|); outputs that
// pass through more bf16 roundings (an accumulation into a bf16 buffer, a bf16 input to
// a long sum) get the multiple stated at the check.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/common.cuh"
#include "tests/emu/check.h"

#if defined(ENABLE_FP32)
constexpr bool IS_FP32 = true;
#else
constexpr bool IS_FP32 = false;
#endif
constexpr double BF16_EPS = 1.0 / 256;
// Tolerance for an output that took k bf16 roundings' worth of error (k ignored in FP32).
inline double tol(double k) { return IS_FP32 ? 1e-5 : k * BF16_EPS; }

typedef std::vector<double> Vd;

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint32_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return (uint32_t)(s >> 16);
    }
    double uniform(double lo, double hi) { return lo + (hi - lo) * (next() / 4294967296.0); }
    Vd vec(size_t n, double lo, double hi) {
        Vd v(n);
        for (auto& x : v) x = uniform(lo, hi);
        return v;
    }
};

// What the device will actually hold: each value rounded to floatX.
// The conversions and comparisons below run in parallel (OpenMP): the kernel lab
// (dev/cuda) uses them on arrays of up to 124M values.
inline Vd rounded(Vd v) {
#pragma omp parallel for
    for (size_t i = 0; i < v.size(); i++) v[i] = to_float(from_float<floatX>((float)v[i]));
    return v;
}

template <typename T>
T* dev_alloc(size_t n) {
    T* p = nullptr;
    CUDA_CHECK(cudaMalloc(&p, (n ? n : 1) * sizeof(T)));
    CUDA_CHECK(cudaMemset(p, 0, (n ? n : 1) * sizeof(T)));
    return p;
}
// Host doubles into an existing device buffer of T (floatX or float), or a new one.
template <typename T>
void upload_to(T* d, const Vd& h) {
    std::vector<T> t(h.size());
#pragma omp parallel for
    for (size_t i = 0; i < h.size(); i++) t[i] = from_float<T>((float)h[i]);
    CUDA_CHECK(cudaMemcpy(d, t.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
}
template <typename T>
T* to_dev(const Vd& h) {
    T* d = dev_alloc<T>(h.size());
    upload_to(d, h);
    return d;
}
inline int* to_dev_int(const std::vector<int>& h) {
    int* d = dev_alloc<int>(h.size());
    CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(int), cudaMemcpyHostToDevice));
    return d;
}
template <typename T>
Vd from_dev(const T* d, size_t n) {
    std::vector<T> t(n);
    CUDA_CHECK(cudaMemcpy(t.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    Vd h(n);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) h[i] = to_float(t[i]);
    return h;
}

// Largest |got - want| / max(1, |want|); NaN anywhere counts as infinitely wrong.
inline double max_err(const Vd& got, const Vd& want) {
    if (got.size() != want.size()) return INFINITY;
    double m = 0;
#pragma omp parallel for reduction(max : m)
    for (size_t i = 0; i < got.size(); i++) {
        const double w = std::fabs(want[i]);
        double d = std::fabs(got[i] - want[i]) / (w > 1.0 ? w : 1.0);
        if (d != d) d = INFINITY;  // NaN (a NaN kept in m would be replaced by the next d)
        if (d > m) m = d;
    }
    return m;
}
#define CHECK_CLOSE(got, want, t, what)                                                          \
    do {                                                                                          \
        const double e_ = max_err(got, want), t_ = (t);                                           \
        CHECK(e_ <= t_, "%s [%s]: max error %.3g > tolerance %.3g", what, PRECISION_NAME, e_, t_);  \
    } while (0)
