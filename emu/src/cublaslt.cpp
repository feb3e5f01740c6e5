// cuemu's cuBLASLt stand-in: the subset an llm.c-style engine calls, against the real
// cublasLt.h prototypes, computed in fp32 with OpenBLAS (cuBLAS is column-major, so
// cblas_sgemm(CblasColMajor, ...) takes the same arguments). Anything outside the
// subset returns CUBLAS_STATUS_NOT_SUPPORTED and says why on stderr.
//
// It also refuses what the real library documents as unsupported (emu/README.md, "cuBLASLt
// constraints"), so code that runs here does not meet its first NOT_SUPPORTED on a GPU:
//   - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_{A,B,C,D}_BYTES (default 256) is a promise about the
//     pointers; the algorithm the heuristic returns may rely on all of it, so cublasLtMatmul
//     refuses a pointer less aligned than the preference its algorithm was chosen for (an
//     algo of nullptr means the default preferences). A promise below the element size, or
//     not a power of two, gets no algorithm;
//   - GELU aux (EPILOGUE_AUX_LD) must be divisible by 8 and >= the rows of D: no algorithm
//     otherwise; the aux pointer must be 16-byte aligned (our reading: with ld % 8 every
//     aux column then starts on 16 bytes, which is what a vectorised epilogue needs);
//   - bias/aux types CUDA_R_32F or CUDA_R_16BF, transposes N/T only, no epilogue on a
//     batched matmul.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cblas.h>

#include "runtime_state.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

constexpr uint64_t kAlgoMagic = 0xC0E1A160A1600001ull;  // algo.data[0]: "made by our heuristic"
constexpr uint32_t kDefaultAlign = 256;                 // cuBLASLt's documented default

struct Pref {
    size_t workspace = 0;
    uint32_t align[4] = {kDefaultAlign, kDefaultAlign, kDefaultAlign, kDefaultAlign};  // A, B, C, D
};

struct Desc {
    cublasComputeType_t compute;
    cudaDataType_t scale;
    cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    const void* bias = nullptr;
    int bias_type = -1;  // a cudaDataType_t; -1: same as D (kept as int: -1 is no valid enum value)
    void* aux = nullptr;
    int64_t aux_ld = 0;
    int aux_type = -1;   // likewise
};
struct Layout {
    cudaDataType_t type;
    uint64_t rows, cols;
    int64_t ld;
    int32_t batch = 1;
    int64_t stride = 0;
};

cublasStatus_t unsupported(const char* what) {
    fprintf(stderr, "cuemu cuBLASLt: not supported: %s\n", what);
    return CUBLAS_STATUS_NOT_SUPPORTED;
}

template <typename T>
bool get(const void* buf, size_t size, T* out) {
    if (size != sizeof(T)) return false;
    memcpy(out, buf, sizeof(T));
    return true;
}

bool type_ok(cudaDataType_t t) { return t == CUDA_R_32F || t == CUDA_R_16BF; }
uint32_t elem_size(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : 2; }

float load(const void* p, cudaDataType_t t, size_t i) {
    return t == CUDA_R_32F ? ((const float*)p)[i] : __bfloat162float(((const __nv_bfloat16*)p)[i]);
}
void store(void* p, cudaDataType_t t, size_t i, float v) {
    if (t == CUDA_R_32F) ((float*)p)[i] = v;
    else ((__nv_bfloat16*)p)[i] = __float2bfloat16(v);  // round to nearest even
}

// Column-major rows x cols matrix with leading dimension ld, to dense fp32 (ld = rows).
std::vector<float> to_f32(const void* p, const Layout& l, size_t batch) {
    std::vector<float> out(l.rows * l.cols);
    size_t base = batch * (size_t)l.stride;
    for (uint64_t c = 0; c < l.cols; c++)
        for (uint64_t r = 0; r < l.rows; r++) out[c * l.rows + r] = load(p, l.type, base + c * (size_t)l.ld + r);
    return out;
}

// The tanh form of GELU (what llm.c's kernels use). Whether cuBLASLt's GELU epilogue is
// this form or the erf one must be checked against a real GPU (see emu/README.md).
const float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)
float gelu(float x) {
    float u = kGeluScale * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
}
float gelu_grad(float x) {
    float u = kGeluScale * (x + 0.044715f * x * x * x);
    float t = tanhf(u);
    float du = kGeluScale * (1.0f + 3.0f * 0.044715f * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

}  // namespace

cublasStatus_t cublasLtCreate(cublasLtHandle_t* h) { *h = (cublasLtHandle_t) new char(0); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) { delete (char*)h; return CUBLAS_STATUS_SUCCESS; }

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* d, cublasComputeType_t compute, cudaDataType_t scale) {
    if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_FAST_TF32 && compute != CUBLAS_COMPUTE_32F_FAST_16BF)
        return unsupported("compute type other than CUBLAS_COMPUTE_32F[_FAST_TF32|_FAST_16BF]");
    if (scale != CUDA_R_32F) return unsupported("scale type other than CUDA_R_32F");
    Desc* x = new Desc();
    x->compute = compute;
    x->scale = scale;
    *d = (cublasLtMatmulDesc_t)x;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) { delete (Desc*)d; return CUBLAS_STATUS_SUCCESS; }

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void* buf, size_t size) {
    Desc* x = (Desc*)d;
    bool ok = true;
    int32_t i32 = 0;
    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA: ok = get(buf, size, &i32); x->ta = (cublasOperation_t)i32; break;
    case CUBLASLT_MATMUL_DESC_TRANSB: ok = get(buf, size, &i32); x->tb = (cublasOperation_t)i32; break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE: ok = get(buf, size, &x->epilogue); break;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: ok = get(buf, size, &x->bias); break;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: ok = get(buf, size, &i32); x->bias_type = i32; break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER: ok = get(buf, size, &x->aux); break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD: ok = get(buf, size, &x->aux_ld); break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE: ok = get(buf, size, &i32); x->aux_type = i32; break;
    case CUBLASLT_MATMUL_DESC_SCALE_TYPE: ok = get(buf, size, &i32) && i32 == CUDA_R_32F; break;
    default: return unsupported("matmul descriptor attribute");
    }
    if (!ok) return unsupported("matmul descriptor attribute value or size");
    if ((x->ta != CUBLAS_OP_N && x->ta != CUBLAS_OP_T) || (x->tb != CUBLAS_OP_N && x->tb != CUBLAS_OP_T))
        return unsupported("operation other than CUBLAS_OP_N/CUBLAS_OP_T");
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* l, cudaDataType t, uint64_t rows, uint64_t cols, int64_t ld) {
    if (!type_ok(t)) return unsupported("matrix type other than CUDA_R_32F/CUDA_R_16BF");
    if (ld < (int64_t)rows) return CUBLAS_STATUS_INVALID_VALUE;
    Layout* x = new Layout();
    x->type = t; x->rows = rows; x->cols = cols; x->ld = ld;
    *l = (cublasLtMatrixLayout_t)x;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) { delete (Layout*)l; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a, const void* buf, size_t size) {
    Layout* x = (Layout*)l;
    bool ok;
    switch (a) {
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: ok = get(buf, size, &x->batch) && x->batch >= 1; break;
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: ok = get(buf, size, &x->stride); break;
    case CUBLASLT_MATRIX_LAYOUT_ORDER: {
        int32_t o;
        ok = get(buf, size, &o) && o == CUBLASLT_ORDER_COL;
        break;
    }
    default: return unsupported("matrix layout attribute");
    }
    return ok ? CUBLAS_STATUS_SUCCESS : unsupported("matrix layout attribute value");
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* p) { *p = (cublasLtMatmulPreference_t) new Pref(); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) { delete (Pref*)p; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t a, const void* buf, size_t size) {
    Pref* x = (Pref*)p;
    int i = -1;
    switch (a) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
        return get(buf, size, &x->workspace) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: i = 0; break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: i = 1; break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: i = 2; break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: i = 3; break;
    default: return unsupported("matmul preference attribute (supported: MAX_WORKSPACE_BYTES, MIN_ALIGNMENT_{A,B,C,D}_BYTES)");
    }
    return get(buf, size, &x->align[i]) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

namespace {
// Checks one matmul's shapes and epilogue; returns CUBLAS_STATUS_SUCCESS if cublasLtMatmul
// can compute it.
cublasStatus_t check(const Desc& d, const Layout& A, const Layout& B, const Layout& C, const Layout& D) {
    uint64_t m = D.rows, n = D.cols;
    uint64_t am = d.ta == CUBLAS_OP_N ? A.rows : A.cols, ak = d.ta == CUBLAS_OP_N ? A.cols : A.rows;
    uint64_t bk = d.tb == CUBLAS_OP_N ? B.rows : B.cols, bn = d.tb == CUBLAS_OP_N ? B.cols : B.rows;
    if (am != m || bn != n || ak != bk || C.rows != m || C.cols != n) return CUBLAS_STATUS_INVALID_VALUE;
    if (C.type != D.type) return unsupported("C and D of different types");
    if (A.batch != D.batch || B.batch != D.batch || C.batch != D.batch) return CUBLAS_STATUS_INVALID_VALUE;
    switch (d.epilogue) {
    case CUBLASLT_EPILOGUE_DEFAULT: case CUBLASLT_EPILOGUE_BIAS: case CUBLASLT_EPILOGUE_GELU:
    case CUBLASLT_EPILOGUE_GELU_BIAS: case CUBLASLT_EPILOGUE_GELU_AUX: case CUBLASLT_EPILOGUE_GELU_AUX_BIAS:
    case CUBLASLT_EPILOGUE_DGELU: case CUBLASLT_EPILOGUE_DGELU_BGRAD: case CUBLASLT_EPILOGUE_BGRADB: break;
    default: return unsupported("epilogue (supported: DEFAULT, BIAS, GELU, GELU_BIAS, GELU_AUX, GELU_AUX_BIAS, DGELU, DGELU_BGRAD, BGRADB)");
    }
    bool needs_bias = d.epilogue == CUBLASLT_EPILOGUE_BIAS || d.epilogue == CUBLASLT_EPILOGUE_GELU_BIAS ||
                      d.epilogue == CUBLASLT_EPILOGUE_GELU_AUX_BIAS || d.epilogue == CUBLASLT_EPILOGUE_DGELU_BGRAD ||
                      d.epilogue == CUBLASLT_EPILOGUE_BGRADB;
    bool needs_aux = d.epilogue == CUBLASLT_EPILOGUE_GELU_AUX || d.epilogue == CUBLASLT_EPILOGUE_GELU_AUX_BIAS ||
                     d.epilogue == CUBLASLT_EPILOGUE_DGELU || d.epilogue == CUBLASLT_EPILOGUE_DGELU_BGRAD;
    if (needs_bias && !d.bias) return CUBLAS_STATUS_INVALID_VALUE;
    if (needs_aux && (!d.aux || d.aux_ld < (int64_t)m)) return CUBLAS_STATUS_INVALID_VALUE;
    if ((needs_bias || needs_aux) && D.batch != 1) return unsupported("epilogue with batched matmul");
    if (needs_aux && d.aux_ld % 8 != 0) return unsupported("EPILOGUE_AUX_LD not divisible by 8");
    if (d.bias_type != -1 && !type_ok((cudaDataType_t)d.bias_type)) return unsupported("bias data type");
    if (d.aux_type != -1 && !type_ok((cudaDataType_t)d.aux_type)) return unsupported("aux data type");
    return CUBLAS_STATUS_SUCCESS;
}
}  // namespace

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                                              cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t results[], int* returned) {
    *returned = 0;
    cublasStatus_t s = check(*(Desc*)desc, *(Layout*)a, *(Layout*)b, *(Layout*)c, *(Layout*)d);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (requested < 1) return CUBLAS_STATUS_INVALID_VALUE;
    Pref none;
    const Pref& p = pref ? *(const Pref*)pref : none;
    const Layout* ls[4] = {(Layout*)a, (Layout*)b, (Layout*)c, (Layout*)d};
    for (int i = 0; i < 4; i++) {
        const uint32_t al = p.align[i];
        if (al == 0 || (al & (al - 1)) != 0 || al < elem_size(ls[i]->type))
            return unsupported("MIN_ALIGNMENT_*_BYTES preference not a power of two >= the element size: no algorithm");
    }
    memset(&results[0], 0, sizeof results[0]);
    results[0].algo.data[0] = kAlgoMagic;
    for (int i = 0; i < 4; i++) results[0].algo.data[1 + i] = p.align[i];  // what this algorithm relies on
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *returned = 1;
    return CUBLAS_STATUS_SUCCESS;
}

namespace {
// D = epilogue(alpha op(A) op(B) + beta C), for a matmul `check` accepted.
void matmul(const Desc& d, const Layout& A, const Layout& B, const Layout& C, const Layout& D, float alpha, float beta,
            const void* Ap, const void* Bp, const void* Cp, void* Dp) {
    int m = (int)D.rows, n = (int)D.cols, k = (int)(d.ta == CUBLAS_OP_N ? A.cols : A.rows);
    cudaDataType_t bias_type = d.bias_type == -1 ? D.type : (cudaDataType_t)d.bias_type;
    cudaDataType_t aux_type = d.aux_type == -1 ? D.type : (cudaDataType_t)d.aux_type;
    cublasLtEpilogue_t e = d.epilogue;
    for (int bt = 0; bt < D.batch; bt++) {
        std::vector<float> a = to_f32(Ap, A, bt), b = to_f32(Bp, B, bt);
        std::vector<float> out = beta != 0.0f ? to_f32(Cp, C, bt) : std::vector<float>((size_t)m * n, 0.0f);
        if (k > 0)
            cblas_sgemm(CblasColMajor, d.ta == CUBLAS_OP_T ? CblasTrans : CblasNoTrans, d.tb == CUBLAS_OP_T ? CblasTrans : CblasNoTrans,
                        m, n, k, alpha, a.data(), (int)A.rows, b.data(), (int)B.rows, beta, out.data(), m);
        else
            for (float& v : out) v *= beta;
        // Epilogue, in fp32 before the one rounding to D's type. Bias has one entry per
        // row of D (m), broadcast along the columns.
        if (e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_GELU_BIAS || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) out[(size_t)j * m + i] += load(d.bias, bias_type, i);
        if (e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) store(d.aux, aux_type, (size_t)j * d.aux_ld + i, out[(size_t)j * m + i]);
        if (e == CUBLASLT_EPILOGUE_GELU || e == CUBLASLT_EPILOGUE_GELU_BIAS || e == CUBLASLT_EPILOGUE_GELU_AUX ||
            e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS)
            for (float& v : out) v = gelu(v);
        if (e == CUBLASLT_EPILOGUE_DGELU || e == CUBLASLT_EPILOGUE_DGELU_BGRAD)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) out[(size_t)j * m + i] *= gelu_grad(load(d.aux, aux_type, (size_t)j * d.aux_ld + i));
        if (e == CUBLASLT_EPILOGUE_DGELU_BGRAD)  // bias gradient: sum of D over its columns
            for (int i = 0; i < m; i++) {
                float acc = 0.0f;
                for (int j = 0; j < n; j++) acc += out[(size_t)j * m + i];
                store((void*)d.bias, bias_type, i, acc);
            }
        if (e == CUBLASLT_EPILOGUE_BGRADB) {  // bias gradient: sum of op(B) over k, one per column of D
            for (int j = 0; j < n; j++) {
                float acc = 0.0f;
                for (int kk = 0; kk < k; kk++)
                    acc += d.tb == CUBLAS_OP_N ? b[(size_t)j * B.rows + kk] : b[(size_t)kk * B.rows + j];
                store((void*)d.bias, bias_type, j, acc);
            }
        }
        size_t base = (size_t)bt * D.stride;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) store(Dp, D.type, base + (size_t)j * D.ld + i, out[(size_t)j * m + i]);
    }
}
}  // namespace

cublasStatus_t cublasLtMatmul(cublasLtHandle_t, cublasLtMatmulDesc_t desc, const void* alpha_p, const void* Ap,
                              cublasLtMatrixLayout_t al, const void* Bp, cublasLtMatrixLayout_t bl, const void* beta_p,
                              const void* Cp, cublasLtMatrixLayout_t cl, void* Dp, cublasLtMatrixLayout_t dl,
                              const cublasLtMatmulAlgo_t* algo, void*, size_t, cudaStream_t stream) {
    const Desc d = *(Desc*)desc;
    const Layout A = *(Layout*)al, B = *(Layout*)bl, C = *(Layout*)cl, D = *(Layout*)dl;
    cublasStatus_t s = check(d, A, B, C, D);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    // the pointers against the alignment the algorithm was chosen for
    const void* ptrs[4] = {Ap, Bp, Cp, Dp};
    static const char* names[4] = {"A", "B", "C", "D"};
    if (algo && algo->data[0] != kAlgoMagic) return unsupported("algorithm not from cublasLtMatmulAlgoGetHeuristic");
    for (int i = 0; i < 4; i++) {
        const uint64_t need = algo ? algo->data[1 + i] : kDefaultAlign;
        if ((uintptr_t)ptrs[i] % need != 0) {
            fprintf(stderr, "cuemu cuBLASLt: not supported: matrix %s at %p is not %llu-byte aligned "
                    "(the MIN_ALIGNMENT_%s_BYTES its algorithm was chosen for)\n",
                    names[i], ptrs[i], (unsigned long long)need, names[i]);
            return CUBLAS_STATUS_NOT_SUPPORTED;
        }
    }
    const bool uses_aux = d.epilogue == CUBLASLT_EPILOGUE_GELU_AUX || d.epilogue == CUBLASLT_EPILOGUE_GELU_AUX_BIAS ||
                          d.epilogue == CUBLASLT_EPILOGUE_DGELU || d.epilogue == CUBLASLT_EPILOGUE_DGELU_BGRAD;
    if (uses_aux && (uintptr_t)d.aux % 16 != 0) return unsupported("epilogue aux pointer not 16-byte aligned");
    // Descriptors, layouts and the host scalars are read now (the caller may change or destroy
    // them once the call returns); the matrices when the stream runs the matmul.
    float alpha = *(const float*)alpha_p, beta = *(const float*)beta_p;
    if (cuemu::enqueue(stream, [=] { matmul(d, A, B, C, D, alpha, beta, Ap, Bp, Cp, Dp); }) != cudaSuccess)
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}
