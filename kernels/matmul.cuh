// Linear layers through cuBLASLt, with llm.c's (OUT, IN) row-major weights, as cpu/matmul.h:
//   out[n, o] = bias[o] + sum_i inp[n, i] * w[o, i]        (optionally GELU'd, see below)
// cuBLASLt is column-major: a row-major (R x K) matrix is a column-major (K x R) one, so
// out^T (OUT x N) = w (as IN x OUT, transposed) * inp^T (IN x N), with no copies. `ldo` is
// the row stride of out/dout: a layer can write a column slice of a wider buffer, which is
// how the split QKV projection runs as two GEMMs on column slices of one weight.
// Compute is fp32 (CUBLAS_COMPUTE_32F: no TF32, so the FP32 build stays exact); bf16
// operands in the BF16 build. The bias gradient is our own deterministic column sum.
#pragma once
#include <cublasLt.h>

#include <utility>

#include "kernels/common.cuh"

#define CUBLAS_CHECK(call)                                                                    \
    do {                                                                                      \
        cublasStatus_t cublas_check_st_ = (call);                                             \
        if (cublas_check_st_ != CUBLAS_STATUS_SUCCESS)                                        \
            noln::fail("cuBLASLt error %d at %s:%d (%s)", (int)cublas_check_st_, __FILE__,     \
                       __LINE__, #call);                                                      \
    } while (0)

#if defined(ENABLE_FP32)
constexpr cudaDataType_t CUBLAS_FLOATX = CUDA_R_32F;
#else
constexpr cudaDataType_t CUBLAS_FLOATX = CUDA_R_16BF;
#endif

// One handle and workspace per process (cuBLASLt handles are per device).
inline cublasLtHandle_t g_cublaslt = nullptr;
inline void* g_cublaslt_workspace = nullptr;
constexpr size_t CUBLASLT_WORKSPACE = 32u << 20;

inline void matmul_init() {
    if (g_cublaslt) return;
    CUBLAS_CHECK(cublasLtCreate(&g_cublaslt));
    CUDA_CHECK(cudaMalloc(&g_cublaslt_workspace, CUBLASLT_WORKSPACE));
}
inline void matmul_destroy() {
    if (!g_cublaslt) return;
    CUBLAS_CHECK(cublasLtDestroy(g_cublaslt));
    CUDA_CHECK(cudaFree(g_cublaslt_workspace));
    g_cublaslt = nullptr;
    g_cublaslt_workspace = nullptr;
}

// Strided batches (the dev/cuda lab's attention GEMMs): matrix i of A starts at a + i *
// stride_a elements, and so on. count 1: one plain GEMM.
struct LtBatch {
    int count = 1;
    long long stride_a = 0, stride_b = 0, stride_d = 0;
};

// Column-major D (m x n, ld ldd) = alpha op(A) op(B) + beta * D, with an optional bias
// (length m) and, when gelu_aux != nullptr, D = gelu(pre) with pre stored to gelu_aux (ld
// ldd). A and B are floatX; D (and C = D) is d_type (floatX, or fp32 for attention scores).
inline void lt_matmul_general(void* d, cudaDataType_t d_type, int ldd, const floatX* a, int lda, bool ta,
                              const floatX* b, int ldb, bool tb, int m, int n, int k, float alpha, float beta,
                              const floatX* bias, floatX* gelu_aux, const LtBatch& batch, cudaStream_t stream) {
    matmul_init();
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, ld;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (gelu_aux) epi = bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    else if (bias) epi = CUBLASLT_EPILOGUE_BIAS;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (bias) CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    if (gelu_aux) {
        const int64_t aux_ld = ldd;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &gelu_aux,
                                                    sizeof gelu_aux));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld, sizeof aux_ld));
    }
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUBLAS_FLOATX, ta ? k : m, ta ? m : k, lda));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, CUBLAS_FLOATX, tb ? n : k, tb ? k : n, ldb));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ld, d_type, m, n, ldd));
    if (batch.count > 1) {
        const std::pair<cublasLtMatrixLayout_t, long long> lays[] = {
            {la, batch.stride_a}, {lb, batch.stride_b}, {ld, batch.stride_d}};
        for (const auto& [lay, stride] : lays) {
            CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(lay, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch.count,
                                                          sizeof batch.count));
            const int64_t st = stride;
            CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(lay, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &st,
                                                          sizeof st));
        }
    }
    cublasLtMatmulPreference_t pref;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const size_t ws = CUBLASLT_WORKSPACE;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(g_cublaslt, desc, la, lb, ld, ld, pref, 1, &heur, &found));
    if (found == 0)
        noln::fail("cuBLASLt: no algorithm for m=%d n=%d k=%d ta=%d tb=%d bias=%d gelu=%d", m, n, k, (int)ta,
                   (int)tb, bias != nullptr, gelu_aux != nullptr);
    CUBLAS_CHECK(cublasLtMatmul(g_cublaslt, desc, &alpha, a, la, b, lb, &beta, d, ld, d, ld, &heur.algo,
                                g_cublaslt_workspace, ws, stream));
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtMatmulDescDestroy(desc);
}
// The plain GEMM of the layers below: everything floatX, alpha 1, one matrix.
inline void lt_matmul(floatX* d, int ldd, const floatX* a, int lda, bool ta, const floatX* b, int ldb, bool tb,
                      int m, int n, int k, float beta, const floatX* bias, floatX* gelu_aux,
                      cudaStream_t stream) {
    lt_matmul_general(d, CUBLAS_FLOATX, ldd, a, lda, ta, b, ldb, tb, m, n, k, 1.0f, beta, bias, gelu_aux, LtBatch(),
                      stream);
}

// out (N, OUT; row stride ldo) = inp (N, IN) w^T + bias. bias may be nullptr.
inline void matmul_forward(floatX* out, int ldo, const floatX* inp, const floatX* w, const floatX* bias, int N,
                           int IN, int OUT, cudaStream_t stream = 0) {
    lt_matmul(out, ldo, w, IN, true, inp, IN, false, OUT, N, IN, 0.0f, bias, nullptr, stream);
}
// The MLP's first layer with GELU in the epilogue: pre = inp w^T + bias is kept (for the
// backward) and out = gelu(pre). Both have row stride ldo.
inline void matmul_forward_gelu(floatX* out, floatX* pre, int ldo, const floatX* inp, const floatX* w,
                                const floatX* bias, int N, int IN, int OUT, cudaStream_t stream = 0) {
    lt_matmul(out, ldo, w, IN, true, inp, IN, false, OUT, N, IN, 0.0f, bias, pre, stream);
}

// dbias[o] += sum_n dout[n, o], in fixed row chunks then a fixed-order finish: deterministic.
constexpr int BIAS_BWD_ROWS = 256;
inline size_t bias_backward_scratch_floats(int N, int OUT) { return (size_t)ceil_div(N, BIAS_BWD_ROWS) * OUT; }

__global__ void bias_backward_partial_kernel(float* part, const floatX* dout, int ldo, int N, int OUT) {
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= OUT) return;
    float s = 0.0f;
    const int end = min(N, (int)(blockIdx.y + 1) * BIAS_BWD_ROWS);
    for (int n = blockIdx.y * BIAS_BWD_ROWS; n < end; n++) s += to_float(dout[(long)n * ldo + o]);
    part[(size_t)blockIdx.y * OUT + o] = s;
}
__global__ void bias_backward_finish_kernel(floatX* dbias, const float* part, int chunks, int OUT) {
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= OUT) return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += part[(size_t)k * OUT + o];
    dbias[o] = from_float<floatX>(to_float(dbias[o]) + s);
}

// Accumulates dinp += dout w, dw += dout^T inp, dbias += column sums of dout. dinp and
// dbias may be nullptr; scratch holds bias_backward_scratch_floats(N, OUT) floats.
inline void matmul_backward(floatX* dinp, floatX* dw, floatX* dbias, const floatX* dout, int ldo, const floatX* inp,
                            const floatX* w, float* scratch, int N, int IN, int OUT, cudaStream_t stream = 0) {
    if (dinp) lt_matmul(dinp, IN, w, IN, false, dout, ldo, false, IN, N, OUT, 1.0f, nullptr, nullptr, stream);
    lt_matmul(dw, IN, inp, IN, false, dout, ldo, true, IN, OUT, N, 1.0f, nullptr, nullptr, stream);
    if (dbias) {
        const int block = 128, chunks = ceil_div(N, BIAS_BWD_ROWS);
        bias_backward_partial_kernel<<<dim3(ceil_div(OUT, block), chunks), block, 0, stream>>>(scratch, dout, ldo, N, OUT);
        CUDA_CHECK_LAUNCH();
        bias_backward_finish_kernel<<<ceil_div(OUT, block), block, 0, stream>>>(dbias, scratch, chunks, OUT);
        CUDA_CHECK_LAUNCH();
    }
}
