// GELU, tanh approximation (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Computed in F with fast_tanh so that the float loops vectorise (cpu/fast_math.h); the
// float spans are also built for AVX2/AVX-512 (cpu/vec_kernels.cpp).
// Or, with Gelu::Erf (--gelu erf, paper (a)'s nanoGPT), the exact form
// 0.5 x (1 + erf(x / sqrt(2))), derivative Phi(x) + x phi(x), with the libm erf in double.
#pragma once
#include <cmath>

#include "cpu/fast_math.h"
#include "cpu/parallel.h"
#include "host/gelu_kind.h"

namespace noln {

constexpr double GELU_K = 0.7978845608028654;  // sqrt(2/pi)

template <typename F>
[[gnu::always_inline]] inline void gelu_forward_span(F* out, const F* inp, long n) {
    const F k = (F)GELU_K, c = (F)0.044715;
#pragma omp simd
    for (long i = 0; i < n; i++) {
        const F x = inp[i];
        out[i] = (F)0.5 * x * ((F)1 + fast_tanh(k * (x + c * x * x * x)));
    }
}

// Accumulates into dinp.
template <typename F>
[[gnu::always_inline]] inline void gelu_backward_span(F* dinp, const F* inp, const F* dout,
                                                     long n) {
    const F k = (F)GELU_K, c = (F)0.044715;
#pragma omp simd
    for (long i = 0; i < n; i++) {
        const F x = inp[i];
        const F th = fast_tanh(k * (x + c * x * x * x));
        const F du = k * ((F)1 + (F)3 * c * x * x);
        const F grad = (F)0.5 * ((F)1 + th) + (F)0.5 * x * ((F)1 - th * th) * du;
        dinp[i] += grad * dout[i];
    }
}

void gelu_forward_span(float* out, const float* inp, long n);
void gelu_backward_span(float* dinp, const float* inp, const float* dout, long n);

constexpr double GELU_INV_SQRT2 = 0.7071067811865476;   // 1/sqrt(2)
constexpr double GELU_INV_SQRT2PI = 0.3989422804014327; // 1/sqrt(2 pi)

template <typename F>
void gelu_erf_forward_span(F* out, const F* inp, long n) {
    for (long i = 0; i < n; i++) {
        const double x = inp[i];
        out[i] = (F)(0.5 * x * (1.0 + std::erf(x * GELU_INV_SQRT2)));
    }
}

// Accumulates into dinp.
template <typename F>
void gelu_erf_backward_span(F* dinp, const F* inp, const F* dout, long n) {
    for (long i = 0; i < n; i++) {
        const double x = inp[i];
        const double grad = 0.5 * (1.0 + std::erf(x * GELU_INV_SQRT2)) + x * GELU_INV_SQRT2PI * std::exp(-0.5 * x * x);
        dinp[i] += (F)(grad * (double)dout[i]);
    }
}

template <typename F>
void gelu_forward(F* out, const F* inp, long N, Gelu kind = Gelu::Tanh) {
#pragma omp parallel if (N >= PARALLEL_MIN_WORK)
    {
        long lo, hi;
        thread_share(N, 16, &lo, &hi);
        if (hi > lo) {
            if (kind == Gelu::Erf) gelu_erf_forward_span(out + lo, inp + lo, hi - lo);
            else gelu_forward_span(out + lo, inp + lo, hi - lo);
        }
    }
}

// Accumulates into dinp.
template <typename F>
void gelu_backward(F* dinp, const F* inp, const F* dout, long N, Gelu kind = Gelu::Tanh) {
#pragma omp parallel if (N >= PARALLEL_MIN_WORK)
    {
        long lo, hi;
        thread_share(N, 16, &lo, &hi);
        if (hi > lo) {
            if (kind == Gelu::Erf) gelu_erf_backward_span(dinp + lo, inp + lo, dout + lo, hi - lo);
            else gelu_backward_span(dinp + lo, inp + lo, dout + lo, hi - lo);
        }
    }
}

}  // namespace noln
