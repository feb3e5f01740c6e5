// Kernels written for the emulator's tests, each checked against a plain CPU loop.
// Ordinary CUDA: builds with emu/nvcc-emu and with the real nvcc (suite 69).
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>
#include <cuda_bf16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <vector>

#include "tests/emu/check.h"

namespace cg = cooperative_groups;

// ---- kernels

// Block sum: warp shuffles, then one value per warp through static shared memory.
__global__ void block_sum(const float* __restrict__ x, float* out, int n) {
    __shared__ float warp_sums[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = 0.0f;
    for (int j = i; j < n; j += gridDim.x * blockDim.x) v += x[j];
    for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int nw = blockDim.x / 32;
        v = lane < nw ? warp_sums[lane] : 0.0f;
        v += __shfl_xor_sync(0xffffffffu, v, 16);
        v += __shfl_xor_sync(0xffffffffu, v, 8);
        v += __shfl_xor_sync(0xffffffffu, v, 4);
        v += __shfl_xor_sync(0xffffffffu, v, 2);
        v += __shfl_xor_sync(0xffffffffu, v, 1);
        if (lane == 0) out[blockIdx.x] = v;
    }
}

// Row softmax, one block per row, the row staged in dynamic shared memory.
__global__ void softmax_rows(const float* x, float* y, int C) {
    extern __shared__ float row[];
    __shared__ float red[32];
    const float* xr = x + blockIdx.x * C;
    float m = -INFINITY;
    for (int c = threadIdx.x; c < C; c += blockDim.x) { row[c] = xr[c]; m = fmaxf(m, row[c]); }
    for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = m;
    __syncthreads();
    m = red[0];
    for (int w = 1; w < (int)blockDim.x / 32; w++) m = fmaxf(m, red[w]);
    __syncthreads();
    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) { row[c] = expf(row[c] - m); s += row[c]; }
    for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = s;
    __syncthreads();
    s = 0.0f;
    for (int w = 0; w < (int)blockDim.x / 32; w++) s += red[w];
    for (int c = threadIdx.x; c < C; c += blockDim.x) y[blockIdx.x * C + c] = row[c] / s;
}

// Layernorm-style row kernel: one warp per row through cooperative groups, bf16 out.
template <typename Tout>
__global__ void layernorm_rows(Tout* out, float* mean, float* rstd, const float* inp, int N, int C) {
    cg::thread_block block = cg::this_thread_block();
    cg::thread_block_tile<32> warp = cg::tiled_partition<32>(block);
    int row = blockIdx.x * warp.meta_group_size() + warp.meta_group_rank();
    if (row >= N) return;  // exited threads must not hold back the other warps
    const float* x = inp + row * C;
    float s = 0.0f;
    for (int c = warp.thread_rank(); c < C; c += warp.size()) s += x[c];
    float mu = cg::reduce(warp, s, cg::plus<float>{}) / C;
    float v = 0.0f;
    for (int c = warp.thread_rank(); c < C; c += warp.size()) v += (x[c] - mu) * (x[c] - mu);
    float r = rsqrtf(cg::reduce(warp, v, cg::plus<float>{}) / C + 1e-5f);
    for (int c = warp.thread_rank(); c < C; c += warp.size()) out[row * C + c] = (Tout)((x[c] - mu) * r);
    if (warp.thread_rank() == 0) { mean[row] = mu; rstd[row] = r; }
}

// Inclusive scan of one block (Hillis-Steele through shared memory; needs both barriers).
__global__ void block_scan(const int* x, int* y, int n) {
    __shared__ int buf[1024];
    int t = threadIdx.x;
    buf[t] = t < n ? x[t] : 0;
    __syncthreads();
    for (int off = 1; off < (int)blockDim.x; off *= 2) {
        int add = t >= off ? buf[t - off] : 0;
        __syncthreads();
        buf[t] += add;
        __syncthreads();
    }
    if (t < n) y[t] = buf[t];
}

// Histogram: shared-memory atomics per block, then global atomics.
__global__ void histogram(const int* x, int n, unsigned int* hist, int bins) {
    extern __shared__ unsigned int local[];
    for (int b = threadIdx.x; b < bins; b += blockDim.x) local[b] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) atomicAdd(&local[x[i]], 1u);
    __syncthreads();
    for (int b = threadIdx.x; b < bins; b += blockDim.x) atomicAdd(&hist[b], local[b]);
}

// Transpose through a padded shared tile, 2-D blocks and grid.
#define TILE 16
__global__ void transpose(const float* in, float* out, int rows, int cols) {
    __shared__ float tile[TILE][TILE + 1];
    int c = blockIdx.x * TILE + threadIdx.x, r = blockIdx.y * TILE + threadIdx.y;
    if (r < rows && c < cols) tile[threadIdx.y][threadIdx.x] = in[r * cols + c];
    __syncthreads();
    int oc = blockIdx.y * TILE + threadIdx.x, orow = blockIdx.x * TILE + threadIdx.y;
    if (orow < cols && oc < rows) out[orow * rows + oc] = tile[threadIdx.x][threadIdx.y];
}

// Every body runs exactly once per thread; 3-D indices cover the grid exactly once.
__global__ void count_runs(unsigned int* hits, int* max_ticket) {
    int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    int id = bx * (blockDim.x * blockDim.y * blockDim.z) + tx;
    atomicAdd(&hits[id], 1u);
    __syncthreads();
    if (threadIdx.x == 0) atomicMax(max_ticket, id);
}

// Warp operations: shfl/up/down with width, ballot, any/all, barrier counts.
__global__ void warp_ops(int* out) {
    int t = threadIdx.x, lane = t % 32;
    out[t * 8 + 0] = __shfl_sync(0xffffffffu, t * 10, 3);               // lane 3 of my warp
    out[t * 8 + 1] = __shfl_up_sync(0xffffffffu, t, 1, 8);              // keeps own at segment start
    out[t * 8 + 2] = __shfl_down_sync(0xffffffffu, t, 2, 16);
    out[t * 8 + 3] = (int)__ballot_sync(0xffffffffu, lane % 3 == 0);
    out[t * 8 + 4] = __any_sync(0xffffffffu, t == 5) * 2 + __all_sync(0xffffffffu, lane < 40);
    out[t * 8 + 5] = __syncthreads_count(t % 4 == 0);
    out[t * 8 + 6] = __syncthreads_and(t < 1000) * 2 + __syncthreads_or(t == 63);
    int v = t;
    if (lane < 16) v = __shfl_xor_sync(0x0000ffffu, v, 1);  // a divergent half-warp shuffle
    else v = __shfl_xor_sync(0xffff0000u, v, 2);
    out[t * 8 + 7] = v;
}

// bf16 round trip, and packed 128-bit loads and stores.
__global__ void bf16_scale(const __nv_bfloat16* in, float* back, __nv_bfloat162* pair_sum, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i * 8 >= n) return;
    int4 packed = *reinterpret_cast<const int4*>(in + i * 8);
    const __nv_bfloat16* h = reinterpret_cast<const __nv_bfloat16*>(&packed);
    float4 lo = make_float4(__bfloat162float(h[0]), __bfloat162float(h[1]), __bfloat162float(h[2]), __bfloat162float(h[3]));
    float4 hi = make_float4(__bfloat162float(h[4]), __bfloat162float(h[5]), __bfloat162float(h[6]), __bfloat162float(h[7]));
    reinterpret_cast<float4*>(back)[i * 2] = lo;
    reinterpret_cast<float4*>(back)[i * 2 + 1] = hi;
    atomicAdd(pair_sum, __floats2bfloat162_rn(__bfloat162float(h[0]), __bfloat162float(h[1])));
}

// By-value parameters are per thread: modifying one must not leak into other threads.
__global__ void param_copy(int base, int* out) {
    base += threadIdx.x;
    out[threadIdx.x] = base;
}

// 16-byte aligned dynamic shared memory, float4 view.
__global__ void smem_float4(float* out) {
    extern __shared__ __align__(16) float4 s4[];
    s4[threadIdx.x] = make_float4(threadIdx.x, 1, 2, 3);
    __syncthreads();
    float4 v = s4[blockDim.x - 1 - threadIdx.x];
    out[threadIdx.x] = v.x + v.y + v.z + v.w;
}

// Sum of x through a two-stage asynchronous-copy pipeline in 256-float tiles: tile t+1 is
// in flight while tile t is summed, and the tail of the last tile is zero-filled.
__global__ void pipelined_sum(const float* x, float* out, int n) {
    __shared__ __align__(16) float buf[2][256];
    int ntiles = (n + 255) / 256;
    float s = 0.0f;
    for (int t = -1; t < ntiles; t++) {
        int next = t + 1;
        if (next < ntiles) {
            int i = next * 256 + threadIdx.x * 4;
            int valid = n - i < 0 ? 0 : (n - i > 4 ? 4 : n - i);
            __pipeline_memcpy_async(&buf[next % 2][threadIdx.x * 4], valid > 0 ? x + i : x, 16, (4 - valid) * sizeof(float));
        }
        __pipeline_commit();  // possibly empty: one batch per iteration keeps the count
        if (t < 0) continue;
        __pipeline_wait_prior(1);  // every batch but the newest (tile t+1) has landed
        __syncthreads();           // ... for all threads' copies of tile t
        for (int j = threadIdx.x; j < 256; j += blockDim.x) s += buf[t % 2][j];
        __syncthreads();  // tile t is read before its buffer is refilled
    }
    atomicAdd(out, s);
}

// ---- tests


static void test_block_sum() {
    for (int bs : {32, 64, 256, 1024}) {
        int n = 100003, grid = 7;
        std::vector<float> x(n);
        double ref = 0;
        for (auto& v : x) { v = frand(); ref += v; }
        float* dx = to_device(x);
        float* dout;
        cudaMalloc(&dout, grid * sizeof(float));
        block_sum<<<grid, bs>>>(dx, dout, n);
        CUDA_OK(cudaGetLastError());
        auto out = to_host(dout, grid);
        double s = 0;
        for (float v : out) s += v;
        CHECK(std::fabs(s - ref) < 1e-2, "block %d: sum %f, expected %f", bs, s, ref);
        cudaFree(dx); cudaFree(dout);
    }
}

static void test_softmax() {
    int N = 5, C = 1000;
    std::vector<float> x(N * C);
    for (auto& v : x) v = frand() * 5;
    float *dx = to_device(x), *dy;
    cudaMalloc(&dy, N * C * sizeof(float));
    softmax_rows<<<N, 128, C * sizeof(float)>>>(dx, dy, C);
    CUDA_OK(cudaGetLastError());
    auto y = to_host(dy, N * C);
    std::vector<float> ref(N * C);
    for (int r = 0; r < N; r++) {
        float m = -INFINITY;
        for (int c = 0; c < C; c++) m = std::fmax(m, x[r * C + c]);
        double s = 0;
        for (int c = 0; c < C; c++) s += std::exp(x[r * C + c] - m);
        for (int c = 0; c < C; c++) ref[r * C + c] = (float)(std::exp(x[r * C + c] - m) / s);
    }
    double err = max_rel_err(y.data(), ref.data(), N * C);
    CHECK(err < 1e-5, "softmax error %g", err);
    cudaFree(dx); cudaFree(dy);
}

static void test_layernorm() {
    int N = 13, C = 72;  // N not a multiple of the 4 warps per block, C not of 32
    std::vector<float> x(N * C);
    for (auto& v : x) v = frand() * 3 + 1;
    float *dx = to_device(x), *dmean, *drstd;
    __nv_bfloat16* dout;
    cudaMalloc(&dout, N * C * sizeof(__nv_bfloat16));
    cudaMalloc(&dmean, N * sizeof(float));
    cudaMalloc(&drstd, N * sizeof(float));
    layernorm_rows<<<(N + 3) / 4, 128>>>(dout, dmean, drstd, dx, N, C);
    CUDA_OK(cudaGetLastError());
    auto out = to_host(dout, N * C);
    auto mean = to_host(dmean, N), rstd = to_host(drstd, N);
    double worst = 0, worst_stat = 0;
    for (int r = 0; r < N; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += x[r * C + c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[r * C + c] - m) * (x[r * C + c] - m);
        double rs = 1.0 / std::sqrt(v / C + 1e-5);
        worst_stat = std::fmax(worst_stat, std::fabs(mean[r] - m) + std::fabs(rstd[r] - rs) / rs);
        for (int c = 0; c < C; c++)
            worst = std::fmax(worst, std::fabs(__bfloat162float(out[r * C + c]) - (x[r * C + c] - m) * rs));
    }
    CHECK(worst_stat < 1e-4, "mean/rstd error %g", worst_stat);
    CHECK(worst < 2e-2, "bf16 layernorm output error %g", worst);  // bf16: 8 bits of mantissa
    cudaFree(dx); cudaFree(dout); cudaFree(dmean); cudaFree(drstd);
}

static void test_scan() {
    for (int n : {1, 100, 1024}) {
        std::vector<int> x(n);
        for (auto& v : x) v = rand() % 10;
        int *dx = to_device(x), *dy;
        cudaMalloc(&dy, n * sizeof(int));
        int bs = 1;
        while (bs < n) bs *= 2;
        block_scan<<<1, bs>>>(dx, dy, n);
        auto y = to_host(dy, n);
        int acc = 0, bad = 0;
        for (int i = 0; i < n; i++) { acc += x[i]; bad += y[i] != acc; }
        CHECK(bad == 0, "scan n=%d: %d wrong", n, bad);
        cudaFree(dx); cudaFree(dy);
    }
}

static void test_histogram() {
    int n = 50000, bins = 37;
    std::vector<int> x(n);
    std::vector<unsigned> ref(bins, 0);
    for (auto& v : x) { v = rand() % bins; ref[v]++; }
    int* dx = to_device(x);
    unsigned* dh;
    cudaMalloc(&dh, bins * sizeof(unsigned));
    cudaMemset(dh, 0, bins * sizeof(unsigned));
    histogram<<<9, 256, bins * sizeof(unsigned)>>>(dx, n, dh, bins);
    auto h = to_host(dh, bins);
    CHECK(h == ref, "histogram differs");
    cudaFree(dx); cudaFree(dh);
}

static void test_transpose() {
    int rows = 37, cols = 50;
    std::vector<float> x(rows * cols);
    for (auto& v : x) v = frand();
    float *dx = to_device(x), *dy;
    cudaMalloc(&dy, rows * cols * sizeof(float));
    dim3 grid((cols + TILE - 1) / TILE, (rows + TILE - 1) / TILE);
    transpose<<<grid, dim3(TILE, TILE)>>>(dx, dy, rows, cols);
    auto y = to_host(dy, rows * cols);
    int bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) bad += y[c * rows + r] != x[r * cols + c];
    CHECK(bad == 0, "transpose: %d wrong", bad);
    cudaFree(dx); cudaFree(dy);
}

static void test_count_runs() {
    dim3 grid(3, 2, 2), block(8, 4, 3);
    int total = 12 * 96;
    unsigned* dh;
    int* dmax;
    cudaMalloc(&dh, total * sizeof(unsigned));
    cudaMalloc(&dmax, sizeof(int));
    cudaMemset(dh, 0, total * sizeof(unsigned));
    cudaMemset(dmax, 0, sizeof(int));
    count_runs<<<grid, block>>>(dh, dmax);
    auto h = to_host(dh, total);
    int bad = 0;
    for (unsigned v : h) bad += v != 1;
    CHECK(bad == 0, "%d threads did not run exactly once", bad);
    CHECK(to_host(dmax, 1)[0] == total - 96 + 88, "max ticket %d", to_host(dmax, 1)[0]);
    cudaFree(dh); cudaFree(dmax);
}

static void test_warp_ops() {
    int n = 64;
    int* d;
    cudaMalloc(&d, n * 8 * sizeof(int));
    warp_ops<<<1, n>>>(d);
    auto o = to_host(d, n * 8);
    int bad = 0;
    unsigned ballot = 0;
    for (int l = 0; l < 32; l++) if (l % 3 == 0) ballot |= 1u << l;
    for (int t = 0; t < n; t++) {
        int lane = t % 32, w = t / 32;
        int e[8];
        e[0] = (w * 32 + 3) * 10;
        e[1] = lane % 8 == 0 ? t : t - 1;
        e[2] = lane % 16 < 14 ? t + 2 : t;
        e[3] = (int)ballot;
        e[4] = (w == 0 ? 2 : 0) + 1;
        e[5] = 16;
        e[6] = 2 + 1;
        e[7] = lane < 16 ? (t ^ 1) : (t ^ 2);
        for (int k = 0; k < 8; k++)
            if (o[t * 8 + k] != e[k]) { bad++; if (bad < 5) printf("  thread %d op %d: %d, expected %d\n", t, k, o[t * 8 + k], e[k]); }
    }
    CHECK(bad == 0, "%d warp-op results wrong", bad);
    cudaFree(d);
}

static void test_bf16() {
    int n = 64;
    std::vector<__nv_bfloat16> x(n);
    std::vector<float> xf(n);
    for (int i = 0; i < n; i++) { xf[i] = frand() * 100; x[i] = __float2bfloat16(xf[i]); }
    __nv_bfloat16* dx = to_device(x);
    float* dback;
    __nv_bfloat162* dsum;
    cudaMalloc(&dback, n * sizeof(float));
    cudaMalloc(&dsum, sizeof(__nv_bfloat162));
    cudaMemset(dsum, 0, sizeof(__nv_bfloat162));
    bf16_scale<<<2, 4>>>(dx, dback, dsum, n);
    auto back = to_host(dback, n);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        // bf16 keeps 8 significant bits: within 2^-8 relative of the float it came from
        bad += std::fabs(back[i] - xf[i]) > std::fabs(xf[i]) / 256.0f + 1e-30f;
        bad += back[i] != __bfloat162float(x[i]);
    }
    CHECK(bad == 0, "%d bf16 round trips wrong", bad);
    __nv_bfloat162 s = to_host(dsum, 1)[0];
    float e0 = 0, e1 = 0;
    for (int i = 0; i < n; i += 8) { e0 += __bfloat162float(x[i]); e1 += __bfloat162float(x[i + 1]); }
    CHECK(std::fabs(__low2float(s) - e0) < 2.0f && std::fabs(__high2float(s) - e1) < 2.0f,
          "bf162 atomicAdd %f %f, expected %f %f", __low2float(s), __high2float(s), e0, e1);
    cudaFree(dx); cudaFree(dback); cudaFree(dsum);
}

static void test_pipeline() {
    for (int n : {256, 1000, 1027, 4096 + 3}) {
        std::vector<float> x(n);
        double ref = 0;
        for (auto& v : x) { v = frand(); ref += v; }
        float* dx = to_device(x);
        float* dout = to_device(std::vector<float>(1, 0.0f));
        pipelined_sum<<<1, 64>>>(dx, dout, n);
        CUDA_OK(cudaGetLastError());
        float got = to_host(dout, 1)[0];
        CHECK(std::fabs(got - ref) < 1e-3, "pipelined sum n=%d: %f vs %f", n, got, ref);
        cudaFree(dx); cudaFree(dout);
    }
}

static void test_misc() {
    int* d;
    cudaMalloc(&d, 64 * sizeof(int));
    param_copy<<<1, 64>>>(100, d);
    auto o = to_host(d, 64);
    int bad = 0;
    for (int t = 0; t < 64; t++) bad += o[t] != 100 + t;
    CHECK(bad == 0, "by-value parameters leaked between threads (%d wrong)", bad);
    float* f;
    cudaMalloc(&f, 32 * sizeof(float));
    smem_float4<<<1, 32, 32 * sizeof(float4)>>>(f);
    auto fo = to_host(f, 32);
    bad = 0;
    for (int t = 0; t < 32; t++) bad += fo[t] != (float)(31 - t) + 6.0f;
    CHECK(bad == 0, "float4 dynamic shared memory: %d wrong", bad);
    // invalid configurations are reported through cudaGetLastError, not run
    param_copy<<<1, 2048>>>(0, d);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads per block accepted");
    CHECK(cudaGetLastError() == cudaSuccess, "error not cleared by cudaGetLastError");
    smem_float4<<<1, 32, 100 * 1024>>>(f);
    CHECK(cudaGetLastError() != cudaSuccess, "100 KiB of dynamic shared memory accepted without opt-in");
    CUDA_OK(cudaFuncSetAttribute(smem_float4, cudaFuncAttributeMaxDynamicSharedMemorySize, 100 * 1024));
    smem_float4<<<1, 32, 100 * 1024>>>(f);
    CHECK(cudaGetLastError() == cudaSuccess, "100 KiB refused after cudaFuncSetAttribute");
    cudaDeviceProp p;
    CUDA_OK(cudaGetDeviceProperties(&p, 0));
    CHECK(p.warpSize == 32 && p.major >= 8 && p.multiProcessorCount > 0, "device properties");
    int blocks = 0;
    CUDA_OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, param_copy, 256, 0));
    CHECK(blocks >= 1 && blocks <= 32, "occupancy %d", blocks);
    cudaFree(d); cudaFree(f);
}

int main() {
    srand(1234);
    test_block_sum();
    test_softmax();
    test_layernorm();
    test_scan();
    test_histogram();
    test_transpose();
    test_count_runs();
    test_warp_ops();
    test_bf16();
    test_misc();
    test_pipeline();
    return summary();
}
