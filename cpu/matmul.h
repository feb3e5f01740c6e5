// Linear layer with llm.c's (OUT, IN) row-major weights, through BLAS:
//   out[n, o] = bias[o] + sum_i inp[n, i] * w[o, i]
// `ldo` is the row stride of out/dout, so a layer can write a column slice of a wider
// buffer (the split QKV block writes [Q K] and V separately into one (N, 3C) buffer).
#pragma once
#include <cblas.h>

namespace noln {

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

// bias may be nullptr.
template <typename F>
void matmul_forward(F* out, int ldo, const F* inp, const F* w, const F* bias, int N, int IN,
                    int OUT) {
    blas_gemm(CblasNoTrans, CblasTrans, N, OUT, IN, (F)1, inp, IN, w, IN, (F)0, out, ldo);
    if (!bias) return;
#pragma omp parallel for
    for (long n = 0; n < N; n++)
        for (int o = 0; o < OUT; o++) out[n * ldo + o] += bias[o];
}

// Accumulates dinp += dout w, dw += dout^T inp, dbias += sum_n dout. dinp/dbias may be nullptr.
template <typename F>
void matmul_backward(F* dinp, F* dw, F* dbias, const F* dout, int ldo, const F* inp, const F* w,
                     int N, int IN, int OUT) {
    if (dinp) blas_gemm(CblasNoTrans, CblasNoTrans, N, IN, OUT, (F)1, dout, ldo, w, IN, (F)1, dinp, IN);
    blas_gemm(CblasTrans, CblasNoTrans, OUT, IN, N, (F)1, dout, ldo, inp, IN, (F)1, dw, IN);
    if (!dbias) return;
#pragma omp parallel for
    for (int o = 0; o < OUT; o++) {
        double s = 0;
        for (long n = 0; n < N; n++) s += dout[n * ldo + o];
        dbias[o] += (F)s;
    }
}

}  // namespace noln
