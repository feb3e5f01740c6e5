// cuBLASLt through the emulator's stand-in: every supported epilogue, fp32 and bf16,
// against a naive column-major loop written here.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <vector>

#include "tests/emu/check.h"

static float frand() { return (float)rand() / RAND_MAX * 2.0f - 1.0f; }
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

int main() {
    srand(99);
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
