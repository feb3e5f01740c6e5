// Warp matrix operations (nvcuda::wmma) checked against CPU loops: GEMMs for every shape,
// input type and layout pair, from global memory and through padded shared memory; fill
// and store; elementwise fragment arithmetic. Ordinary CUDA: builds with emu/nvcc-emu and
// with the real nvcc for sm_80/sm_90 (suite 69), and nothing here depends on which lane
// holds which element, which CUDA leaves unspecified.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cmath>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "tests/emu/check.h"

using namespace nvcuda;

// ---- kernels

// C (M x N, row-major, ldc) = A (M x K) B (K x N). A block of 4 warps computes a 64x64
// tile of C, each warp a 32x32 quarter as (32/WM) x (32/WN) fragments, loading A and B
// fragments straight from global memory with their leading dimensions lda and ldb.
template <int WM, int WN, typename T, typename LA, typename LB>
__global__ void gemm_global(const T* A, const T* B, float* C, int K, int lda, int ldb, int ldc) {
    constexpr int FM = 32 / WM, FN = 32 / WN;
    constexpr bool a_col = std::is_same<LA, wmma::col_major>::value, b_col = std::is_same<LB, wmma::col_major>::value;
    int warp = threadIdx.x / 32;
    int row0 = blockIdx.y * 64 + (warp / 2) * 32, col0 = blockIdx.x * 64 + (warp % 2) * 32;
    wmma::fragment<wmma::accumulator, WM, WN, 16, float> acc[FM][FN];
    for (int i = 0; i < FM; i++)
        for (int j = 0; j < FN; j++) wmma::fill_fragment(acc[i][j], 0.0f);
    for (int k = 0; k < K; k += 16) {
        wmma::fragment<wmma::matrix_a, WM, WN, 16, T, LA> a[FM];
        wmma::fragment<wmma::matrix_b, WM, WN, 16, T, LB> b[FN];
        for (int i = 0; i < FM; i++) {
            int r = row0 + i * WM;
            wmma::load_matrix_sync(a[i], A + (a_col ? (size_t)k * lda + r : (size_t)r * lda + k), lda);
        }
        for (int j = 0; j < FN; j++) {
            int c = col0 + j * WN;
            wmma::load_matrix_sync(b[j], B + (b_col ? (size_t)c * ldb + k : (size_t)k * ldb + c), ldb);
        }
        for (int i = 0; i < FM; i++)
            for (int j = 0; j < FN; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    for (int i = 0; i < FM; i++)
        for (int j = 0; j < FN; j++)
            wmma::store_matrix_sync(C + (size_t)(row0 + i * WM) * ldc + col0 + j * WN, acc[i][j], ldc, wmma::mem_row_major);
}

// The same product with A (row-major) and B (col-major) staged 16 columns of k at a time
// through shared memory rows padded to 24 elements (ldm 24: 48 bytes, not a power of
// two), and C written column-major (ldc = M) through a padded shared tile.
template <typename T>
__global__ void gemm_shared(const T* A, const T* B, float* C, int M, int K) {
    __shared__ __align__(32) T As[64][24];  // As[r][k]: row-major A tile
    __shared__ __align__(32) T Bs[64][24];  // Bs[c][k]: col-major B tile
    __shared__ __align__(32) float Cs[4][16 * 20];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int wr = (warp / 2) * 32, wc = (warp % 2) * 32;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);
    for (int k = 0; k < K; k += 16) {
        for (int e = threadIdx.x; e < 64 * 16; e += blockDim.x) {
            int r = e / 16, kk = e % 16;
            As[r][kk] = A[(size_t)(blockIdx.y * 64 + r) * K + k + kk];
            Bs[r][kk] = B[(size_t)(blockIdx.x * 64 + r) * K + k + kk];
        }
        __syncthreads();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a[2];
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b[2];
        for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &As[wr + i * 16][0], 24);
        for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &Bs[wc + j * 16][0], 24);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        __syncthreads();
    }
    // Through shared memory (col-major, ldm 20) to global, one 16x16 fragment at a time.
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(Cs[warp], acc[i][j], 20, wmma::mem_col_major);
            __syncwarp();
            for (int e = lane; e < 256; e += 32) {
                int r = e % 16, c = e / 16;
                int gr = blockIdx.y * 64 + wr + i * 16 + r, gc = blockIdx.x * 64 + wc + j * 16 + c;
                C[(size_t)gc * M + gr] = Cs[warp][c * 20 + r];
            }
            __syncwarp();
        }
}

// fill_fragment then store (column-major, ldm 24): the padding must stay untouched.
__global__ void fill_store(float* out, float v) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> f;
    wmma::fill_fragment(f, v);
    wmma::store_matrix_sync(out, f, 24, wmma::mem_col_major);
}

// Half the warp shuffles among itself before the warp reconverges at the store.
__global__ void diverge_then_store(float* out, float v) {
    if (threadIdx.x < 16) v = __shfl_xor_sync(0x0000ffffu, v, 1);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> f;
    wmma::fill_fragment(f, v);
    wmma::store_matrix_sync(out, f, 16, wmma::mem_row_major);
}

// Every element written once: each lane tags its elements with (lane, i), then stores.
__global__ void tag_elements(float* out) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> f;
    for (int i = 0; i < f.num_elements; i++) f.x[i] = (float)(threadIdx.x % 32 * 64 + i);
    wmma::store_matrix_sync(out, f, 16, wmma::mem_row_major);
}

// Elementwise arithmetic on fragments: D = relu(2 A) I + (3 C - 1), with A scaled and
// clamped in its bf16/half fragment and C scaled in its float accumulator.
template <typename T>
__global__ void elementwise(const T* A, const T* I, const float* C, float* D) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> eye;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
    wmma::load_matrix_sync(a, A, 16);
    wmma::load_matrix_sync(eye, I, 16);
    wmma::load_matrix_sync(c, C, 32, wmma::mem_row_major);
    for (int i = 0; i < a.num_elements; i++) {
        float v = 2.0f * (float)a.x[i];
        a.x[i] = (T)(v > 0.0f ? v : 0.0f);
    }
    for (int i = 0; i < c.num_elements; i++) c.x[i] = 3.0f * c.x[i] - 1.0f;
    wmma::mma_sync(c, a, eye, c);
    wmma::store_matrix_sync(D, c, 16, wmma::mem_row_major);
}

// ---- tests
template <typename T> static float as_float(T v);
template <> float as_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <> float as_float(__half v) { return __half2float(v); }
template <typename T> static T from_float(float v);
template <> __nv_bfloat16 from_float(float v) { return __float2bfloat16(v); }
template <> __half from_float(float v) { return __float2half(v); }

// Random values exactly representable in T.
template <typename T>
static std::vector<T> rand_matrix(size_t n) {
    std::vector<T> h(n);
    for (auto& v : h) v = from_float<T>(frand());
    return h;
}

// Worst |C - A B| over the matrix, relative to sum_k |a b| (the products are exact in fp32;
// only the fp32 sum rounds), with A(r, k) and B(k, c) read through the given indexers.
template <typename T, typename FA, typename FB, typename FC>
static double gemm_err(int M, int N, int K, FA a, FB b, FC c) {
    double worst = 0;
    for (int r = 0; r < M; r++)
        for (int col = 0; col < N; col++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)as_float<T>(a(r, k)) * as_float<T>(b(k, col));
                s += p;
                mag += std::fabs(p);
            }
            double e = std::fabs((double)c(r, col) - s) / (mag + 1e-30);
            if (!(e <= worst)) worst = e;
        }
    return worst;
}

template <int WM, int WN, typename T, typename LA, typename LB>
static void test_gemm_global(const char* name) {
    const int M = 64, N = 128, K = 96;
    constexpr bool a_col = std::is_same<LA, wmma::col_major>::value, b_col = std::is_same<LB, wmma::col_major>::value;
    int lda = a_col ? M : K, ldb = b_col ? K : N, ldc = N + 8;
    auto A = rand_matrix<T>((size_t)M * K), B = rand_matrix<T>((size_t)K * N);
    T* dA = to_device(A);
    T* dB = to_device(B);
    float* dC;
    cudaMalloc(&dC, (size_t)M * ldc * sizeof(float));
    gemm_global<WM, WN, T, LA, LB><<<dim3(N / 64, M / 64), 128>>>(dA, dB, dC, K, lda, ldb, ldc);
    CUDA_OK(cudaGetLastError());
    auto C = to_host(dC, (size_t)M * ldc);
    double err = gemm_err<T>(
        M, N, K, [&](int r, int k) { return A[a_col ? (size_t)k * lda + r : (size_t)r * lda + k]; },
        [&](int k, int c) { return B[b_col ? (size_t)c * ldb + k : (size_t)k * ldb + c]; },
        [&](int r, int c) { return C[(size_t)r * ldc + c]; });
    CHECK(err < 1e-4, "gemm_global %s m%dn%dk16 A %s B %s: relative error %g", name, WM, WN, a_col ? "col" : "row",
          b_col ? "col" : "row", err);
    cudaFree(dA); cudaFree(dB); cudaFree(dC);
}

template <int WM, int WN, typename T>
static void test_gemm_layouts(const char* name) {
    test_gemm_global<WM, WN, T, wmma::row_major, wmma::row_major>(name);
    test_gemm_global<WM, WN, T, wmma::row_major, wmma::col_major>(name);
    test_gemm_global<WM, WN, T, wmma::col_major, wmma::row_major>(name);
    test_gemm_global<WM, WN, T, wmma::col_major, wmma::col_major>(name);
}

template <typename T>
static void test_gemm_shared(const char* name) {
    const int M = 128, N = 64, K = 80;
    auto A = rand_matrix<T>((size_t)M * K), B = rand_matrix<T>((size_t)K * N);  // A row-major, B col-major
    T* dA = to_device(A);
    T* dB = to_device(B);
    float* dC;
    cudaMalloc(&dC, (size_t)M * N * sizeof(float));
    gemm_shared<T><<<dim3(N / 64, M / 64), 128>>>(dA, dB, dC, M, K);
    CUDA_OK(cudaGetLastError());
    auto C = to_host(dC, (size_t)M * N);
    double err = gemm_err<T>(
        M, N, K, [&](int r, int k) { return A[(size_t)r * K + k]; }, [&](int k, int c) { return B[(size_t)c * K + k]; },
        [&](int r, int c) { return C[(size_t)c * M + r]; });
    CHECK(err < 1e-4, "gemm_shared %s: relative error %g", name, err);
    cudaFree(dA); cudaFree(dB); cudaFree(dC);
}

static void test_fill_store() {
    std::vector<float> h(16 * 24, -7.0f);
    float* d = to_device(h);
    fill_store<<<1, 32>>>(d, 2.5f);
    CUDA_OK(cudaGetLastError());
    h = to_host(d, h.size());
    int bad = 0;
    for (int c = 0; c < 16; c++)
        for (int r = 0; r < 24; r++) bad += h[c * 24 + r] != (r < 16 ? 2.5f : -7.0f);
    CHECK(bad == 0, "fill_fragment + col-major store: %d elements wrong", bad);
    cudaFree(d);

    float* r;
    cudaMalloc(&r, 256 * sizeof(float));
    diverge_then_store<<<1, 32>>>(r, 3.0f);
    CUDA_OK(cudaGetLastError());
    h = to_host(r, 256);
    bad = 0;
    for (float v : h) bad += v != 3.0f;
    CHECK(bad == 0, "store after a half-warp shuffle: %d elements wrong", bad);
    cudaFree(r);

    float* t;
    cudaMalloc(&t, 256 * sizeof(float));
    tag_elements<<<1, 32>>>(t);
    CUDA_OK(cudaGetLastError());
    h = to_host(t, 256);
    std::vector<int> seen(32 * 64, 0);
    int wrong = 0;
    for (float v : h) {
        int tag = (int)v;
        if (tag < 0 || tag >= 32 * 64 || tag % 64 >= 8 || seen[tag]++) wrong++;
    }
    CHECK(wrong == 0, "each of the 256 accumulator elements belongs to exactly one (lane, i < 8): %d wrong", wrong);
    cudaFree(t);
}

template <typename T>
static void test_elementwise(const char* name) {
    auto A = rand_matrix<T>(256);
    std::vector<T> I(256, from_float<T>(0.0f));
    for (int i = 0; i < 16; i++) I[i * 16 + i] = from_float<T>(1.0f);
    std::vector<float> C(16 * 32);
    for (auto& v : C) v = frand();
    T* dA = to_device(A);
    T* dI = to_device(I);
    float* dC = to_device(C);
    float* dD;
    cudaMalloc(&dD, 256 * sizeof(float));
    elementwise<T><<<1, 32>>>(dA, dI, dC, dD);
    CUDA_OK(cudaGetLastError());
    auto D = to_host(dD, 256);
    double worst = 0;
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) {
            float a = 2.0f * as_float<T>(A[r * 16 + c]);
            double want = (double)(a > 0 ? a : 0) + (3.0 * C[r * 32 + c] - 1.0);
            double e = std::fabs(D[r * 16 + c] - want);
            if (!(e <= worst)) worst = e;
        }
    CHECK(worst < 1e-5, "elementwise fragment ops %s: max error %g", name, worst);
    cudaFree(dA); cudaFree(dI); cudaFree(dC); cudaFree(dD);
}

static void test_num_elements() {
    // CUDA's element counts per lane, which code may size its loops and arrays by.
    CHECK((wmma::fragment<wmma::accumulator, 16, 16, 16, float>::num_elements == 8), "accumulator 16x16");
    CHECK((wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major>::num_elements == 8), "bf16 A 16x16");
    CHECK((wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major>::num_elements == 16), "half A 16x16");
    CHECK((wmma::fragment<wmma::matrix_a, 32, 8, 16, __nv_bfloat16, wmma::row_major>::num_elements == 16), "bf16 A 32x8");
    CHECK((wmma::fragment<wmma::matrix_b, 32, 8, 16, __nv_bfloat16, wmma::col_major>::num_elements == 4), "bf16 B 32x8");
    CHECK((wmma::fragment<wmma::matrix_a, 8, 32, 16, __nv_bfloat16, wmma::col_major>::num_elements == 4), "bf16 A 8x32");
    CHECK((wmma::fragment<wmma::matrix_b, 8, 32, 16, __half, wmma::row_major>::num_elements == 16), "half B 8x32");
    CHECK((wmma::fragment<wmma::accumulator, 8, 32, 16, float>::num_elements == 8), "accumulator 8x32");
}

int main() {
    srand(4321);
    test_num_elements();
    test_gemm_layouts<16, 16, __nv_bfloat16>("bf16");
    test_gemm_layouts<16, 16, __half>("half");
    // m32n8: a row-major B fragment 8 columns in would start 16 bytes off the 256-bit
    // alignment CUDA requires; likewise a col-major A fragment 8 rows in for m8n32.
    test_gemm_global<32, 8, __nv_bfloat16, wmma::row_major, wmma::col_major>("bf16");
    test_gemm_global<32, 8, __nv_bfloat16, wmma::col_major, wmma::col_major>("bf16");
    test_gemm_global<32, 8, __half, wmma::col_major, wmma::col_major>("half");
    test_gemm_global<8, 32, __half, wmma::row_major, wmma::row_major>("half");
    test_gemm_global<8, 32, __half, wmma::row_major, wmma::col_major>("half");
    test_gemm_global<8, 32, __nv_bfloat16, wmma::row_major, wmma::row_major>("bf16");
    test_gemm_shared<__nv_bfloat16>("bf16");
    test_gemm_shared<__half>("half");
    test_fill_store();
    test_elementwise<__nv_bfloat16>("bf16");
    test_elementwise<__half>("half");
    return summary();
}
