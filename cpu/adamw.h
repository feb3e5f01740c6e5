// AdamW, bias-corrected, t counting from 1; decoupled weight decay:
//   g = grad * grad_scale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//   p -= lr * (m / (1-b1^t) / (sqrt(v / (1-b2^t)) + eps) + wd * p)
// The caller passes wd = 0 for tensors that are not decayed (param_is_decayed).
#pragma once
#include <cmath>
#include <cstddef>

#include "cpu/parallel.h"

namespace noln {

// One thread's stretch of a tensor (GPT2CPU::adamw_step splits all 16 tensors among the
// threads of a single parallel region).
template <typename F>
void adamw_span(F* p, const F* grad, F* m, F* v, size_t n, double lr, double b1, double b2,
                double eps, double wd, double grad_scale, int t) {
    const double c1 = 1.0 - std::pow(b1, t), c2 = 1.0 - std::pow(b2, t);
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const double g = (double)grad[i] * grad_scale;
        const double mi = b1 * m[i] + (1.0 - b1) * g;
        const double vi = b2 * v[i] + (1.0 - b2) * g * g;
        m[i] = (F)mi;
        v[i] = (F)vi;
        const double mhat = mi / c1, vhat = vi / c2;
        p[i] = (F)(p[i] - lr * (mhat / (std::sqrt(vhat) + eps) + wd * p[i]));
    }
}

template <typename F>
void adamw_update(F* p, const F* grad, F* m, F* v, size_t n, double lr, double b1, double b2,
                  double eps, double wd, double grad_scale, int t) {
#pragma omp parallel
    {
        long lo, hi;
        thread_share((long)n, 16, &lo, &hi);
        if (hi > lo)
            adamw_span(p + lo, grad + lo, m + lo, v + lo, hi - lo, lr, b1, b2, eps, wd, grad_scale,
                       t);
    }
}

}  // namespace noln
