// Linear layer with llm.c's (OUT, IN) row-major weights, through BLAS:
//   out[n, o] = bias[o] + sum_i inp[n, i] * w[o, i]
// `ldo` is the row stride of out/dout, so a layer can write a column slice of a wider
// buffer (the split QKV block writes [Q K] and V separately into one (N, 3C) buffer).
//
// Threads: every op of the CPU model runs on OpenMP's one pool of threads, BLAS included:
// each thread calls a single-threaded BLAS on its own slice of the output. OpenBLAS's own
// threads would otherwise spin between calls and fight the OpenMP threads for the cores.
#pragma once
#include <cblas.h>

#include <vector>

#include "cpu/parallel.h"

extern "C" void openblas_set_num_threads(int);

namespace noln {

// OpenBLAS keeps to the calling thread from the first call on (process-wide; set once).
inline void blas_use_calling_thread() {
    static const bool done = (openblas_set_num_threads(1), true);
    (void)done;
}

inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
                      const float* a, int lda, const float* b, int ldb, float beta, float* c,
                      int ldc) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha,
                      const double* a, int lda, const double* b, int ldb, double beta, double* c,
                      int ldc) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// bias may be nullptr. Threads split the longer side of out: the rows (tokens) or the
// columns (weight rows, e.g. the 50k of the unembedding).
template <typename F>
void matmul_forward(F* out, int ldo, const F* inp, const F* w, const F* bias, int N, int IN,
                    int OUT) {
    blas_use_calling_thread();
#pragma omp parallel
    {
        long lo, hi;
        if (OUT >= N) {
            thread_share(OUT, 16, &lo, &hi);
            if (hi > lo)
                blas_gemm(CblasNoTrans, CblasTrans, N, hi - lo, IN, (F)1, inp, IN, w + lo * IN, IN,
                          (F)0, out + lo, ldo);
            if (bias && hi > lo)
                for (long n = 0; n < N; n++)
                    for (long o = lo; o < hi; o++) out[n * ldo + o] += bias[o];
        } else {
            thread_share(N, 1, &lo, &hi);
            if (hi > lo)
                blas_gemm(CblasNoTrans, CblasTrans, hi - lo, OUT, IN, (F)1, inp + lo * IN, IN, w,
                          IN, (F)0, out + lo * ldo, ldo);
            if (bias)
                for (long n = lo; n < hi; n++)
                    for (int o = 0; o < OUT; o++) out[n * ldo + o] += bias[o];
        }
    }
}

// Accumulates dinp += dout w, dw += dout^T inp, dbias += sum_n dout. dinp/dbias may be nullptr.
template <typename F>
void matmul_backward(F* dinp, F* dw, F* dbias, const F* dout, int ldo, const F* inp, const F* w,
                     int N, int IN, int OUT) {
    blas_use_calling_thread();
#pragma omp parallel
    {
        long lo, hi;
        if (dinp) {  // (N, IN) += (N, OUT) (OUT, IN): split N, or IN when it is longer
            if (N >= IN) {
                thread_share(N, 1, &lo, &hi);
                if (hi > lo)
                    blas_gemm(CblasNoTrans, CblasNoTrans, hi - lo, IN, OUT, (F)1, dout + lo * ldo,
                              ldo, w, IN, (F)1, dinp + lo * IN, IN);
            } else {
                thread_share(IN, 16, &lo, &hi);
                if (hi > lo)
                    blas_gemm(CblasNoTrans, CblasNoTrans, N, hi - lo, OUT, (F)1, dout, ldo, w + lo,
                              IN, (F)1, dinp + lo, IN);
            }
        }
        // (OUT, IN) += (OUT, N) (N, IN): split OUT, or IN when it is longer
        if (OUT >= IN) {
            thread_share(OUT, 1, &lo, &hi);
            if (hi > lo)
                blas_gemm(CblasTrans, CblasNoTrans, hi - lo, IN, N, (F)1, dout + lo, ldo, inp, IN,
                          (F)1, dw + lo * IN, IN);
        } else {
            thread_share(IN, 16, &lo, &hi);
            if (hi > lo)
                blas_gemm(CblasTrans, CblasNoTrans, OUT, hi - lo, N, (F)1, dout, ldo, inp + lo, IN,
                          (F)1, dw + lo, IN);
        }
        if (dbias) {  // column sums, walked row by row so that the reads are contiguous
            thread_share(OUT, 16, &lo, &hi);
            std::vector<double> s(hi > lo ? hi - lo : 0, 0.0);
            for (long n = 0; n < N && hi > lo; n++) {
                const F* d = dout + n * ldo + lo;
#pragma omp simd
                for (long o = 0; o < hi - lo; o++) s[o] += d[o];
            }
            for (long o = lo; o < hi; o++) dbias[o] += (F)s[o - lo];
        }
    }
}

}  // namespace noln
