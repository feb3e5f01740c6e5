// LayerNorm over the last dimension, in both states of a path (docs/method.md §2):
//   REAL:   y = (x - mean) * rstd * w + b, rstd = 1/sqrt(var + eps) of this token
//   FROZEN: the same with rstd = 1/s given per token by the caller (the path's frozen sigma,
//           or sigma_bos where a special divisor applies). Mean-centering stays.
// Statistics are accumulated in double so that the fp32 reference stays close to exact.
#pragma once
#include <omp.h>

#include <cmath>
#include <vector>

#include "cpu/parallel.h"
#include "host/ln_paths.h"  // LN_EPS

namespace noln {

// Per-token mean and std sqrt(var + eps), the quantity sigma observations and the aux
// loss are built on. Either output may be nullptr.
// One row's mean and population variance, in double (the one copy of these loops).
template <typename F>
inline double row_mean(const F* x, int C) {
    double m = 0;
#pragma omp simd reduction(+ : m)
    for (int c = 0; c < C; c++) m += x[c];
    return m / C;
}
template <typename F>
inline double row_var(const F* x, double m, int C) {
    double v = 0;
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
    return v / C;
}

template <typename F>
void layernorm_stats(F* mean, F* sd, const F* inp, int N, int C) {
#pragma omp parallel for if ((long)N * C >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) {
        const F* x = inp + i * C;
        const double m = row_mean(x, C);
        if (mean) mean[i] = (F)m;
        if (sd) sd[i] = (F)std::sqrt(row_var(x, m, C) + LN_EPS);
    }
}

// frozen_rstd == nullptr: REAL. Otherwise FROZEN with rstd[i] = frozen_rstd[i].
// mean and rstd (N each) are kept for the backward.
template <typename F>
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* w, const F* b, int N,
                       int C, const F* frozen_rstd) {
#pragma omp parallel for if ((long)N * C >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) {
        const F* x = inp + i * C;
        const double m = row_mean(x, C);
        const double r = frozen_rstd ? (double)frozen_rstd[i] : 1.0 / std::sqrt(row_var(x, m, C) + LN_EPS);
        F* y = out + i * C;
#pragma omp simd
        for (int c = 0; c < C; c++) y[c] = (F)((x[c] - m) * r * w[c] + b[c]);
        mean[i] = (F)m;
        rstd[i] = (F)r;
    }
}

// Accumulates into dinp, dw, db. With g = w * dout and xhat = (x - mean) * rstd:
//   REAL:   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   FROZEN: dx = rstd * (g - mean(g))   (rstd does not depend on x)
template <typename F>
void layernorm_backward(F* dinp, F* dw, F* db, const F* dout, const F* inp, const F* w,
                        const F* mean, const F* rstd, int N, int C, bool frozen) {
#pragma omp parallel for if ((long)N * C >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) {
        const F* x = inp + i * C;
        const F* dy = dout + i * C;
        const double m = mean[i], r = rstd[i];
        double gm = 0, gxm = 0;
#pragma omp simd reduction(+ : gm, gxm)
        for (int c = 0; c < C; c++) {
            double g = (double)w[c] * dy[c];
            gm += g;
            gxm += g * (x[c] - m) * r;
        }
        gm /= C;
        gxm = frozen ? 0.0 : gxm / C;
        F* dx = dinp + i * C;
#pragma omp simd
        for (int c = 0; c < C; c++) {
            double g = (double)w[c] * dy[c];
            dx[c] += (F)(r * (g - gm - (x[c] - m) * r * gxm));
        }
    }
    // dw, db: column sums. Each thread sums its rows (contiguous reads) into its own slot;
    // the slots are then added in thread order, so the result does not depend on timing.
    const int nt = omp_get_max_threads();
    std::vector<double> part((size_t)nt * 2 * C, 0.0);
#pragma omp parallel if ((long)N * C >= PARALLEL_MIN_WORK)
    {
        double* sw = part.data() + (size_t)omp_get_thread_num() * 2 * C;
        double* sb = sw + C;
#pragma omp for schedule(static)
        for (long i = 0; i < N; i++) {
            const F* x = inp + i * C;
            const F* dy = dout + i * C;
            const double m = mean[i], r = rstd[i];
#pragma omp simd
            for (int c = 0; c < C; c++) {
                sw[c] += (double)dy[c] * ((x[c] - m) * r);
                sb[c] += dy[c];
            }
        }
    }
    for (int c = 0; c < C; c++) {
        double w_sum = 0, b_sum = 0;
        for (int t = 0; t < nt; t++) {
            w_sum += part[(size_t)t * 2 * C + c];
            b_sum += part[(size_t)t * 2 * C + C + c];
        }
        dw[c] += (F)w_sum;
        db[c] += (F)b_sum;
    }
}

}  // namespace noln
