// Softmax of one row, shared by the cross-entropy (50k columns) and attention (T columns):
//   p = exp(x - max x) / sum, returns log(sum exp x) (the row's logsumexp, in double).
// p may be x. The sum is accumulated in double; exps come from fast_exp.
#pragma once
#include <cmath>

#include "cpu/fast_math.h"

namespace noln {

template <typename F>
[[gnu::always_inline]] inline double softmax_span(F* p, const F* x, int n) {
    F mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++) {
        const F e = fast_exp(x[i] - mx);
        p[i] = e;
        sum += e;
    }
    const F inv = (F)(1.0 / sum);
#pragma omp simd
    for (int i = 0; i < n; i++) p[i] *= inv;
    return std::log(sum) + (double)mx;
}

// The float instance, built for AVX2 and AVX-512 as well (cpu/vec_kernels.cpp).
double softmax_span(float* p, const float* x, int n);

}  // namespace noln
