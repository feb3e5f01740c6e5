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

#include <array>
#include <map>
#include <utility>

#include "kernels/common.cuh"
#include "kernels/gelu.cuh"

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

inline void lt_plans_clear();  // the cached GEMM plans (below) die with the handle

inline void matmul_init() {
    if (g_cublaslt) return;
    CUBLAS_CHECK(cublasLtCreate(&g_cublaslt));
    CUDA_CHECK(cudaMalloc(&g_cublaslt_workspace, CUBLASLT_WORKSPACE));
}
inline void matmul_destroy() {
    if (!g_cublaslt) return;
    lt_plans_clear();
    CUBLAS_CHECK(cublasLtDestroy(g_cublaslt));
    CUDA_CHECK(cudaFree(g_cublaslt_workspace));
    g_cublaslt = nullptr;
    g_cublaslt_workspace = nullptr;
}

// The largest power of two (<= 256, cuBLASLt's default promise) that divides the address,
// the byte stride between columns and (batched) between matrices: what every column start
// of that operand is aligned to, i.e. what we may honestly promise in
// CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*.
inline uint32_t lt_alignment(const void* p, int64_t ld, size_t esize, long long batch_stride = 0) {
    const uint64_t x = (uint64_t)(uintptr_t)p | (uint64_t)(ld * (int64_t)esize) |
                       (uint64_t)(batch_stride * (long long)esize) | 256u;
    return (uint32_t)(x & (~x + 1));  // lowest set bit
}

// Strided batches (the dev/cuda lab's attention GEMMs): matrix i of A starts at a + i *
// stride_a elements, and so on. count 1: one plain GEMM.
struct LtBatch {
    int count = 1;
    long long stride_a = 0, stride_b = 0, stride_d = 0;
};

// One cached GEMM configuration: descriptors, layouts and the heuristic's algorithm for one
// shape (sizes, types, transposes, leading dimensions, batching, epilogue, alignments). The
// bias and aux pointers are set per call; everything else is fixed, so the heuristic runs
// once per shape instead of once per call.
typedef std::array<int64_t, 20> LtKey;
struct LtPlan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
    cublasLtMatmulAlgo_t algo{};
    cublasStatus_t status = CUBLAS_STATUS_SUCCESS;  // NOT_SUPPORTED: no algorithm for this shape
};
inline std::map<LtKey, LtPlan>& lt_plans() {
    static std::map<LtKey, LtPlan> plans;
    return plans;
}
inline long g_lt_heuristic_queries = 0;  // how many times the heuristic ran (tests read it)

inline void lt_plans_clear() {
    for (auto& kv : lt_plans()) {
        LtPlan& p = kv.second;
        if (p.la) cublasLtMatrixLayoutDestroy(p.la);
        if (p.lb) cublasLtMatrixLayoutDestroy(p.lb);
        if (p.ld) cublasLtMatrixLayoutDestroy(p.ld);
        if (p.desc) cublasLtMatmulDescDestroy(p.desc);
    }
    lt_plans().clear();
}

// Column-major D (m x n, ld ldd) = alpha op(A) op(B) + beta * D, with an optional bias
// (length m) and, when gelu_aux != nullptr, D = gelu(pre) with pre stored to gelu_aux (ld
// ldd). A and B are floatX; D (and C = D) is d_type (floatX, or fp32 for attention scores).
// Returns CUBLAS_STATUS_NOT_SUPPORTED when cuBLASLt has no algorithm for it (the caller
// falls back, or lt_matmul_general fails naming the GEMM); any other failure throws.
inline cublasStatus_t lt_matmul_try(void* d, cudaDataType_t d_type, int ldd, const floatX* a, int lda, bool ta,
                                    const floatX* b, int ldb, bool tb, int m, int n, int k, float alpha, float beta,
                                    const floatX* bias, floatX* gelu_aux, const LtBatch& batch, cudaStream_t stream) {
    matmul_init();
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (gelu_aux) epi = bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    else if (bias) epi = CUBLASLT_EPILOGUE_BIAS;
    const size_t es = sizeof(floatX), ds = d_type == CUDA_R_32F ? 4 : 2;
    const uint32_t al_a = lt_alignment(a, lda, es, batch.stride_a), al_b = lt_alignment(b, ldb, es, batch.stride_b),
                   al_d = lt_alignment(d, ldd, ds, batch.stride_d);
    const LtKey key = {m, n, k, ta, tb, lda, ldb, ldd, (int64_t)epi, al_a, al_b, al_d,
                       gelu_aux ? (int64_t)lt_alignment(gelu_aux, ldd, es) : 0,
                       bias ? (int64_t)lt_alignment(bias, 0, es) : 0, (int64_t)(beta != 0.0f), (int64_t)d_type,
                       batch.count, batch.stride_a, batch.stride_b, batch.stride_d};
    auto it = lt_plans().find(key);
    if (it == lt_plans().end()) {
        LtPlan p;
        CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        const cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
        if (bias) CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
        if (gelu_aux) {
            const int64_t aux_ld = ldd;
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &gelu_aux,
                                                        sizeof gelu_aux));
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld, sizeof aux_ld));
        }
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.la, CUBLAS_FLOATX, ta ? k : m, ta ? m : k, lda));
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.lb, CUBLAS_FLOATX, tb ? n : k, tb ? k : n, ldb));
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.ld, d_type, m, n, ldd));
        if (batch.count > 1) {
            const std::pair<cublasLtMatrixLayout_t, long long> lays[] = {
                {p.la, batch.stride_a}, {p.lb, batch.stride_b}, {p.ld, batch.stride_d}};
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
        // promise only the alignment the pointers, leading dimensions and strides really have (C is D)
        const cublasLtMatmulPreferenceAttributes_t attrs[4] = {
            CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
            CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
        const uint32_t aligns[4] = {al_a, al_b, al_d, al_d};
        for (int i = 0; i < 4; i++)
            CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attrs[i], &aligns[i], sizeof aligns[i]));
        cublasLtMatmulHeuristicResult_t heur;
        int found = 0;
        g_lt_heuristic_queries++;
        const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(g_cublaslt, p.desc, p.la, p.lb, p.ld, p.ld, pref, 1,
                                                                 &heur, &found);
        cublasLtMatmulPreferenceDestroy(pref);
        if (hs != CUBLAS_STATUS_SUCCESS && hs != CUBLAS_STATUS_NOT_SUPPORTED) CUBLAS_CHECK(hs);
        if (hs == CUBLAS_STATUS_NOT_SUPPORTED || found == 0) p.status = CUBLAS_STATUS_NOT_SUPPORTED;
        else p.algo = heur.algo;
        it = lt_plans().emplace(key, p).first;
    }
    LtPlan& p = it->second;
    if (p.status != CUBLAS_STATUS_SUCCESS) return p.status;
    if (bias) CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    if (gelu_aux)
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &gelu_aux,
                                                    sizeof gelu_aux));
    const cublasStatus_t st = cublasLtMatmul(g_cublaslt, p.desc, &alpha, a, p.la, b, p.lb, &beta, d, p.ld, d, p.ld,
                                             &p.algo, g_cublaslt_workspace, CUBLASLT_WORKSPACE, stream);
    if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED) CUBLAS_CHECK(st);
    return st;
}

// The same, where a refusal is an error that names the GEMM.
inline void lt_matmul_general(void* d, cudaDataType_t d_type, int ldd, const floatX* a, int lda, bool ta,
                              const floatX* b, int ldb, bool tb, int m, int n, int k, float alpha, float beta,
                              const floatX* bias, floatX* gelu_aux, const LtBatch& batch, cudaStream_t stream) {
    if (lt_matmul_try(d, d_type, ldd, a, lda, ta, b, ldb, tb, m, n, k, alpha, beta, bias, gelu_aux, batch, stream) !=
        CUBLAS_STATUS_SUCCESS)
        noln::fail("cuBLASLt: no algorithm for m=%d n=%d k=%d ta=%d tb=%d lda=%d ldb=%d ldd=%d batch=%d bias=%d "
                   "gelu=%d (alignments A %u B %u D %u bytes)",
                   m, n, k, (int)ta, (int)tb, lda, ldb, ldd, batch.count, bias != nullptr, gelu_aux != nullptr,
                   lt_alignment(a, lda, sizeof(floatX), batch.stride_a),
                   lt_alignment(b, ldb, sizeof(floatX), batch.stride_b),
                   lt_alignment(d, ldd, d_type == CUDA_R_32F ? 4 : 2, batch.stride_d));
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

// How the MLP's GELU is computed: our own kernels (kernels/gelu.cuh, the default) or
// cuBLASLt's GELU_AUX(_BIAS) epilogue, whose formula (tanh or erf form) only a GPU can
// confirm (make gpu-check compares both against the CPU model).
enum class GeluImpl { Kernels, Epilogue };
inline long g_gelu_epilogue_fallbacks = 0;  // epilogue refused, our kernel used instead

// The MLP's first layer with GELU: pre = inp w^T + bias is kept (for the backward) and
// out = gelu(pre). Both have row stride ldo. With GeluImpl::Epilogue (tanh form only), one
// GEMM with the epilogue when cuBLASLt accepts it (the aux leading dimension and alignment
// rules), else the same as GeluImpl::Kernels: the GEMM into pre, then gelu_forward of kind
// (the erf form always takes this path: cuBLASLt has no erf epilogue).
inline void matmul_forward_gelu(floatX* out, floatX* pre, int ldo, const floatX* inp, const floatX* w,
                                const floatX* bias, int N, int IN, int OUT, GeluImpl impl = GeluImpl::Kernels,
                                noln::Gelu kind = noln::Gelu::Tanh, cudaStream_t stream = 0) {
    if (impl == GeluImpl::Epilogue && kind == noln::Gelu::Tanh) {
        if (lt_matmul_try(out, CUBLAS_FLOATX, ldo, w, IN, true, inp, IN, false, OUT, N, IN, 1.0f, 0.0f, bias, pre,
                          LtBatch(), stream) == CUBLAS_STATUS_SUCCESS)
            return;
        g_gelu_epilogue_fallbacks++;
    }
    lt_matmul(pre, ldo, w, IN, true, inp, IN, false, OUT, N, IN, 0.0f, bias, nullptr, stream);
    if (ldo == OUT) {
        gelu_forward(out, pre, (long)N * OUT, kind, stream);
    } else {
        for (int i = 0; i < N; i++) gelu_forward(out + (size_t)i * ldo, pre + (size_t)i * ldo, OUT, kind, stream);
    }
}

// dbias[o] += sum_n dout[n, o], in fixed row chunks then a fixed-order finish: deterministic.
constexpr int BIAS_BWD_ROWS = 256;
inline size_t bias_backward_scratch_floats(int N, int OUT) { return (size_t)ceil_div(N, BIAS_BWD_ROWS) * OUT; }

// One thread per 16-byte chunk of columns (BIAS_S of them), rows in order: each column sums
// in the same order as with one thread per column.
constexpr int BIAS_S = Vec128<floatX>::size;
__global__ void bias_backward_partial_kernel(float* part, const floatX* dout, int ldo, int N, int OUT, bool vec) {
    const int o0 = (blockIdx.x * blockDim.x + threadIdx.x) * BIAS_S;
    if (o0 >= OUT) return;
    float s[BIAS_S];
    for (int k = 0; k < BIAS_S; k++) s[k] = 0.0f;
    const int end = min(N, (int)(blockIdx.y + 1) * BIAS_BWD_ROWS);
    for (int n = blockIdx.y * BIAS_BWD_ROWS; n < end; n++) {
        const Vec128<floatX> x = load_chunk(dout + (long)n * ldo, o0, OUT, vec);
        for (int k = 0; k < BIAS_S; k++) s[k] += x.get(k);
    }
    for (int k = 0; k < BIAS_S && o0 + k < OUT; k++) part[(size_t)blockIdx.y * OUT + o0 + k] = s[k];
}
__global__ void bias_backward_finish_kernel(floatX* dbias, const float* part, int chunks, int OUT) {
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= OUT) return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += part[(size_t)k * OUT + o];
    dbias[o] = from_float<floatX>(to_float(dbias[o]) + s);
}

// dbias += column sums of dout (N rows of OUT columns, row stride ldo); scratch holds
// bias_backward_scratch_floats(N, OUT) floats. matmul_backward's bias gradient (and the
// kernel lab's entry point to it, dev/cuda/bias_backward.cu).
inline void bias_backward(floatX* dbias, const floatX* dout, int ldo, float* scratch, int N, int OUT,
                          cudaStream_t stream = 0) {
    const int block = 128, chunks = ceil_div(N, BIAS_BWD_ROWS);
    bias_backward_partial_kernel<<<dim3(ceil_div(ceil_div(OUT, BIAS_S), block), chunks), block, 0, stream>>>(
        scratch, dout, ldo, N, OUT, rows_vec_ok(dout, ldo));
    CUDA_CHECK_LAUNCH();
    bias_backward_finish_kernel<<<ceil_div(OUT, block), block, 0, stream>>>(dbias, scratch, chunks, OUT);
    CUDA_CHECK_LAUNCH();
}

// Accumulates dinp += dout w (or writes dinp = dout w with dinp_overwrite: beta = 0, a
// first write that needs no memset), dw += dout^T inp, dbias += column sums of dout. dinp
// and dbias may be nullptr; scratch holds bias_backward_scratch_floats(N, OUT) floats.
inline void matmul_backward(floatX* dinp, floatX* dw, floatX* dbias, const floatX* dout, int ldo, const floatX* inp,
                            const floatX* w, float* scratch, int N, int IN, int OUT, bool dinp_overwrite = false,
                            cudaStream_t stream = 0) {
    if (dinp)
        lt_matmul(dinp, IN, w, IN, false, dout, ldo, false, IN, N, OUT, dinp_overwrite ? 0.0f : 1.0f, nullptr,
                  nullptr, stream);
    lt_matmul(dw, IN, inp, IN, false, dout, ldo, true, IN, OUT, N, 1.0f, nullptr, nullptr, stream);
    if (dbias) bias_backward(dbias, dout, ldo, scratch, N, OUT, stream);
}
