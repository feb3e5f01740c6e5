// Causal multi-head self-attention on a (B, T, 3C) qkv buffer whose columns are Q for all
// heads, then K, then V (head h is columns h*hs..(h+1)*hs-1 of each third).
//   att[b,h,t,t2] = softmax_{t2<=t}(q_t . k_t2 / sqrt(hs)),  out[b,t,h*hs+i] = sum att * v_t2
// att (B, NH, T, T) is kept for the backward; entries above the diagonal are 0.
// Each (b, h) is a few small matrix products, done by BLAS on one thread per pair (the
// products above the diagonal are computed and thrown away: cheaper than skipping them).
#pragma once
#include <cmath>
#include <vector>

#include "cpu/softmax.h"
#include "cpu/matmul.h"

namespace noln {

template <typename F>
void attention_forward(F* out, F* att, const F* qkv, int B, int T, int C, int NH) {
    const int hs = C / NH, C3 = 3 * C;
    const F scale = (F)(1.0 / std::sqrt((double)hs));
    blas_use_calling_thread();
#pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const F* q = qkv + (long)b * T * C3 + h * hs;
            const F* k = q + C;
            const F* v = q + 2 * C;
            F* a = att + ((long)b * NH + h) * T * T;
            blas_gemm(CblasNoTrans, CblasTrans, T, T, hs, scale, q, C3, k, C3, (F)0, a, T);
            for (int t = 0; t < T; t++) {
                F* r = a + (long)t * T;
                softmax_span(r, r, t + 1);
                for (int t2 = t + 1; t2 < T; t2++) r[t2] = 0;
            }
            blas_gemm(CblasNoTrans, CblasNoTrans, T, hs, T, (F)1, a, T, v, C3, (F)0,
                      out + (long)b * T * C + h * hs, C);
        }
}

// Accumulates into dqkv. Parallel over (b, h): each pair owns its columns of dqkv.
template <typename F>
void attention_backward(F* dqkv, const F* dout, const F* qkv, const F* att, int B, int T, int C,
                        int NH) {
    const int hs = C / NH, C3 = 3 * C;
    const F scale = (F)(1.0 / std::sqrt((double)hs));
    blas_use_calling_thread();
#pragma omp parallel
    {
    std::vector<F> datt((size_t)T * T);  // per thread: d(att), then d(pre-softmax scores)
#pragma omp for collapse(2)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const long qo = (long)b * T * C3 + h * hs;  // Q of (b, h); K at +C, V at +2C
            const F* a = att + ((long)b * NH + h) * T * T;
            const F* d = dout + (long)b * T * C + h * hs;
            F* da = datt.data();
            // out = att v: gradients to att and to v
            blas_gemm(CblasNoTrans, CblasTrans, T, T, hs, (F)1, d, C, qkv + qo + 2 * C, C3, (F)0,
                      da, T);
            blas_gemm(CblasTrans, CblasNoTrans, T, hs, T, (F)1, a, T, d, C, (F)1,
                      dqkv + qo + 2 * C, C3);
            // softmax: dpre = a * (datt - sum(a * datt)), scaled for pre = q . k * scale;
            // zero above the diagonal, where a is 0
            for (int t = 0; t < T; t++) {
                const F* ar = a + (long)t * T;
                F* dr = da + (long)t * T;
                double dot = 0;
#pragma omp simd reduction(+ : dot)
                for (int t2 = 0; t2 <= t; t2++) dot += (double)ar[t2] * dr[t2];
                for (int t2 = 0; t2 <= t; t2++) dr[t2] = ar[t2] * (dr[t2] - (F)dot) * scale;
                for (int t2 = t + 1; t2 < T; t2++) dr[t2] = 0;
            }
            // pre = q k^T: dq += dpre k, dk += dpre^T q
            blas_gemm(CblasNoTrans, CblasNoTrans, T, hs, T, (F)1, da, T, qkv + qo + C, C3, (F)1,
                      dqkv + qo, C3);
            blas_gemm(CblasTrans, CblasNoTrans, T, hs, T, (F)1, da, T, qkv + qo, C3, (F)1,
                      dqkv + qo + C, C3);
        }
    }
}

}  // namespace noln
