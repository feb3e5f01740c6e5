// cuBLASLt through the emulator's stand-in: every supported epilogue, fp32 and bf16,
// against a naive column-major loop written here.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <vector>

#include "tests/emu/check.h"

static float gelu_ref(float x) { return 0.5f * x * (1.0f + std::tanh(0.7978845608f * (x + 0.044715f * x * x * x))); }
static float gelu_grad_ref(float x) {  // numerical derivative of the tanh GELU
    double h = 1e-3;
    auto g = [](double v) { return 0.5 * v * (1.0 + std::tanh(0.7978845608 * (v + 0.044715 * v * v * v))); };
    return (float)((g(x + h) - g(x - h)) / (2 * h));
}

struct Case { cublasLtEpilogue_t epi; const char* name; bool bias, aux_out, aux_in; };

template <typename T> static T cvt(float v);
template <> float cvt<float>(float v) { return v; }
template <> __nv_bfloat16 cvt<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
static float f(float v) { return v; }
static float f(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
static void run_case(const Case& c, bool ta, bool tb, cudaDataType_t type, double tol) {
    const int m = 24, n = 10, k = 17;
    // A is m x k (stored k x m when transposed), B is k x n (n x k when transposed).
    int arows = ta ? k : m, acols = ta ? m : k, brows = tb ? n : k, bcols = tb ? k : n;
    std::vector<T> A(arows * acols), B(brows * bcols), D(m * n), bias(std::max(m, n)), aux(m * n);
    for (auto& v : A) v = cvt<T>(frand());
    for (auto& v : B) v = cvt<T>(frand());
    for (auto& v : bias) v = cvt<T>(frand());
    for (auto& v : aux) v = cvt<T>(frand());
    auto a = [&](int i, int kk) { return f(ta ? A[i * arows + kk] : A[kk * arows + i]); };
    auto b = [&](int kk, int j) { return f(tb ? B[kk * brows + j] : B[j * brows + kk]); };
    // reference
    std::vector<float> ref(m * n), ref_aux(m * n), ref_bias(std::max(m, n), 0.0f);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int kk = 0; kk < k; kk++) s += a(i, kk) * b(kk, j);
            float x = (float)s;
            if (c.bias && c.epi != CUBLASLT_EPILOGUE_DGELU_BGRAD && c.epi != CUBLASLT_EPILOGUE_BGRADB) x += f(bias[i]);
            ref_aux[j * m + i] = x;
            if (c.epi == CUBLASLT_EPILOGUE_GELU || c.epi == CUBLASLT_EPILOGUE_GELU_BIAS || c.aux_out) x = gelu_ref(x);
            if (c.aux_in) x *= gelu_grad_ref(f(aux[j * m + i]));
            ref[j * m + i] = x;
        }
    if (c.epi == CUBLASLT_EPILOGUE_DGELU_BGRAD)
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) ref_bias[i] += ref[j * m + i];
    if (c.epi == CUBLASLT_EPILOGUE_BGRADB)
        for (int j = 0; j < n; j++) for (int kk = 0; kk < k; kk++) ref_bias[j] += b(kk, j);

    T *dA, *dB, *dD, *dbias, *daux;
    cudaMalloc(&dA, A.size() * sizeof(T)); cudaMalloc(&dB, B.size() * sizeof(T)); cudaMalloc(&dD, D.size() * sizeof(T));
    cudaMalloc(&dbias, bias.size() * sizeof(T)); cudaMalloc(&daux, aux.size() * sizeof(T));
    cudaMemcpy(dA, A.data(), A.size() * sizeof(T), cudaMemcpyHostToDevice);
    cudaMemcpy(dB, B.data(), B.size() * sizeof(T), cudaMemcpyHostToDevice);
    cudaMemcpy(dbias, bias.data(), bias.size() * sizeof(T), cudaMemcpyHostToDevice);
    cudaMemcpy(daux, aux.data(), aux.size() * sizeof(T), cudaMemcpyHostToDevice);

    cublasLtHandle_t h;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulPreference_t pref;
    bool ok = cublasLtCreate(&h) == CUBLAS_STATUS_SUCCESS;
    ok &= cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS;
    cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    ok &= cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa) == CUBLAS_STATUS_SUCCESS;
    ok &= cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb) == CUBLAS_STATUS_SUCCESS;
    ok &= cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &c.epi, sizeof c.epi) == CUBLAS_STATUS_SUCCESS;
    if (c.bias) ok &= cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &dbias, sizeof dbias) == CUBLAS_STATUS_SUCCESS;
    if (c.aux_out || c.aux_in) {
        int64_t ldaux = m;
        ok &= cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &daux, sizeof daux) == CUBLAS_STATUS_SUCCESS;
        ok &= cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ldaux, sizeof ldaux) == CUBLAS_STATUS_SUCCESS;
    }
    ok &= cublasLtMatrixLayoutCreate(&la, type, arows, acols, arows) == CUBLAS_STATUS_SUCCESS;
    ok &= cublasLtMatrixLayoutCreate(&lb, type, brows, bcols, brows) == CUBLAS_STATUS_SUCCESS;
    ok &= cublasLtMatrixLayoutCreate(&ld, type, m, n, m) == CUBLAS_STATUS_SUCCESS;
    ok &= cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS;
    size_t ws = 1 << 20;
    ok &= cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws) == CUBLAS_STATUS_SUCCESS;
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    ok &= cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, ld, ld, pref, 1, &heur, &found) == CUBLAS_STATUS_SUCCESS && found == 1;
    float alpha = 1.0f, beta = 0.0f;
    ok &= cublasLtMatmul(h, desc, &alpha, dA, la, dB, lb, &beta, dD, ld, dD, ld, &heur.algo, nullptr, 0, 0) == CUBLAS_STATUS_SUCCESS;
    CHECK(ok, "%s ta=%d tb=%d: a cuBLASLt call failed", c.name, ta, tb);
    cudaMemcpy(D.data(), dD, D.size() * sizeof(T), cudaMemcpyDeviceToHost);
    std::vector<float> got(m * n);
    for (int i = 0; i < m * n; i++) got[i] = f(D[i]);
    double err = max_rel_err(got.data(), ref.data(), m * n);
    CHECK(err < tol, "%s ta=%d tb=%d: D error %g", c.name, ta, tb, err);
    if (c.aux_out) {
        cudaMemcpy(aux.data(), daux, aux.size() * sizeof(T), cudaMemcpyDeviceToHost);
        for (int i = 0; i < m * n; i++) got[i] = f(aux[i]);
        err = max_rel_err(got.data(), ref_aux.data(), m * n);
        CHECK(err < tol, "%s: aux (pre-GELU) error %g", c.name, err);
    }
    if (c.epi == CUBLASLT_EPILOGUE_DGELU_BGRAD || c.epi == CUBLASLT_EPILOGUE_BGRADB) {
        int nb = c.epi == CUBLASLT_EPILOGUE_BGRADB ? n : m;
        cudaMemcpy(bias.data(), dbias, nb * sizeof(T), cudaMemcpyDeviceToHost);
        for (int i = 0; i < nb; i++) got[i] = f(bias[i]);
        err = max_rel_err(got.data(), ref_bias.data(), nb);
        CHECK(err < tol * 4, "%s: bias gradient error %g", c.name, err);
    }
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(ld);
    cublasLtMatmulDescDestroy(desc);
    cublasLtDestroy(h);
    cudaFree(dA); cudaFree(dB); cudaFree(dD); cudaFree(dbias); cudaFree(daux);
}

// What the real library refuses, the stand-in refuses too (emu/src/cublaslt.cpp's header).
// One fp32 GEMM D (m x n) = A (m x k) B (k x n), all column-major, with optional knobs.
struct Knobs {
    size_t a_off = 0;             // bytes added to A's pointer
    uint32_t pref_a = 0;          // MIN_ALIGNMENT_A_BYTES (0: left at the default)
    bool gelu_aux = false;        // GELU_AUX epilogue
    int64_t aux_ld = 24;
    size_t aux_off = 0;           // bytes added to the aux pointer
};
// Returns {heuristic status, algorithms found, matmul status (-1: not called)}.
static std::vector<int> try_gemm(const Knobs& kn) {
    const int m = 24, n = 8, k = 16;
    float *A, *B, *D, *aux;
    cudaMalloc(&A, (m * k + 64) * sizeof(float));
    cudaMalloc(&B, k * n * sizeof(float));
    cudaMalloc(&D, m * n * sizeof(float));
    cudaMalloc(&aux, (kn.aux_ld * n + 64) * sizeof(float));
    cudaMemset(A, 0, (m * k + 64) * sizeof(float));
    cudaMemset(B, 0, k * n * sizeof(float));
    float* a = (float*)((char*)A + kn.a_off);
    float* x = (float*)((char*)aux + kn.aux_off);
    cublasLtHandle_t h;
    cublasLtCreate(&h);
    cublasLtMatmulDesc_t desc;
    cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    if (kn.gelu_aux) {
        cublasLtEpilogue_t e = CUBLASLT_EPILOGUE_GELU_AUX;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof e);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &x, sizeof x);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &kn.aux_ld, sizeof kn.aux_ld);
    }
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, m, k, m);
    cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, k, n, k);
    cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, m, n, m);
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulPreferenceCreate(&pref);
    if (kn.pref_a) cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &kn.pref_a, sizeof kn.pref_a);
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    std::vector<int> r;
    r.push_back((int)cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, ld, ld, pref, 1, &heur, &found));
    r.push_back(found);
    float alpha = 1.0f, beta = 0.0f;
    r.push_back(found ? (int)cublasLtMatmul(h, desc, &alpha, a, la, B, lb, &beta, D, ld, D, ld, &heur.algo, nullptr, 0, 0) : -1);
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(ld);
    cublasLtMatmulDescDestroy(desc);
    cublasLtDestroy(h);
    cudaFree(A); cudaFree(B); cudaFree(D); cudaFree(aux);
    return r;
}

static void refusals() {
    const int OK = CUBLAS_STATUS_SUCCESS, NS = CUBLAS_STATUS_NOT_SUPPORTED;
    std::vector<int> r;
    Knobs kn;
    r = try_gemm(kn);
    CHECK(r == (std::vector<int>{OK, 1, OK}), "aligned GEMM with default preferences: %d %d %d", r[0], r[1], r[2]);
    // a column slice 128 bytes into a buffer (the split QKV's V at C=32 in bf16) under the
    // default 256-byte promise: the algorithm may rely on 256, so the matmul is refused
    kn.a_off = 128;
    r = try_gemm(kn);
    CHECK(r == (std::vector<int>{OK, 1, NS}), "128-byte aligned A under the 256 default: %d %d %d (want 0 1 15)", r[0], r[1], r[2]);
    kn.pref_a = 128;  // the honest promise
    r = try_gemm(kn);
    CHECK(r == (std::vector<int>{OK, 1, OK}), "128-byte aligned A promised as 128: %d %d %d", r[0], r[1], r[2]);
    kn.a_off = 80;  // 80 bytes: 16-byte aligned, promised 128
    r = try_gemm(kn);
    CHECK(r == (std::vector<int>{OK, 1, NS}), "80-byte offset A promised as 128: %d %d %d", r[0], r[1], r[2]);
    kn.pref_a = 16;
    r = try_gemm(kn);
    CHECK(r == (std::vector<int>{OK, 1, OK}), "80-byte offset A promised as 16: %d %d %d", r[0], r[1], r[2]);
    kn = Knobs();
    kn.pref_a = 2;  // below the fp32 element size: no algorithm
    r = try_gemm(kn);
    CHECK(r[0] == NS && r[1] == 0, "a 2-byte promise for fp32 A found an algorithm: %d %d", r[0], r[1]);
    kn.pref_a = 48;  // not a power of two
    r = try_gemm(kn);
    CHECK(r[0] == NS && r[1] == 0, "a 48-byte promise found an algorithm: %d %d", r[0], r[1]);
    kn = Knobs();
    kn.gelu_aux = true;
    r = try_gemm(kn);
    CHECK(r == (std::vector<int>{OK, 1, OK}), "GELU_AUX with aux ld 24: %d %d %d", r[0], r[1], r[2]);
    kn.aux_ld = 28;  // >= m but not divisible by 8
    r = try_gemm(kn);
    CHECK(r[0] == NS && r[1] == 0, "GELU_AUX with aux ld 28 found an algorithm: %d %d", r[0], r[1]);
    kn.aux_ld = 16;  // divisible by 8 but < m
    r = try_gemm(kn);
    CHECK(r[0] != OK && r[1] == 0, "GELU_AUX with aux ld 16 < m found an algorithm: %d %d", r[0], r[1]);
    kn.aux_ld = 24;
    kn.aux_off = 8;  // aux not 16-byte aligned
    r = try_gemm(kn);
    CHECK(r == (std::vector<int>{OK, 1, NS}), "GELU_AUX with an 8-byte aligned aux: %d %d %d", r[0], r[1], r[2]);
}

int main() {
    srand(99);
    refusals();
    const Case cases[] = {
        {CUBLASLT_EPILOGUE_DEFAULT, "DEFAULT", false, false, false},
        {CUBLASLT_EPILOGUE_BIAS, "BIAS", true, false, false},
        {CUBLASLT_EPILOGUE_GELU, "GELU", false, false, false},
        {CUBLASLT_EPILOGUE_GELU_BIAS, "GELU_BIAS", true, false, false},
        {CUBLASLT_EPILOGUE_GELU_AUX, "GELU_AUX", false, true, false},
        {CUBLASLT_EPILOGUE_GELU_AUX_BIAS, "GELU_AUX_BIAS", true, true, false},
        {CUBLASLT_EPILOGUE_DGELU, "DGELU", false, false, true},
        {CUBLASLT_EPILOGUE_DGELU_BGRAD, "DGELU_BGRAD", true, false, true},
        {CUBLASLT_EPILOGUE_BGRADB, "BGRADB", true, false, false},
    };
    for (const Case& c : cases)
        for (int t = 0; t < 4; t++) {
            run_case<float>(c, t & 1, t >> 1, CUDA_R_32F, 1e-4);
            run_case<__nv_bfloat16>(c, t & 1, t >> 1, CUDA_R_16BF, 2e-2);
        }
    // unsupported requests fail loudly instead of computing something else
    cublasLtMatmulDesc_t desc;
    CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_16F, CUDA_R_16F) == CUBLAS_STATUS_NOT_SUPPORTED,
          "16F compute accepted");
    return summary();
}
