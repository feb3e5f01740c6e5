// What every kernel header shares: the storage type floatX (PRECISION=BF16 or FP32),
// CUDA_CHECK, 128-bit vector access, warp/block reductions and stochastic rounding.
// Plain CUDA: the same source builds with nvcc and with emu/nvcc-emu.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "host/error.h"

// PRECISION=FP32 builds with -DENABLE_FP32; the default stores bf16 activations and
// parameters. Master weights, optimizer moments, sigmas, reductions and losses stay fp32.
#if defined(ENABLE_FP32)
typedef float floatX;
#define PRECISION_NAME "fp32"
#else
typedef __nv_bfloat16 floatX;
#define PRECISION_NAME "bf16"
#endif

// A CUDA runtime failure is not bad input, but it goes through noln::Error like the rest so
// main prints one message (with our file and line) and exits 1.
#define CUDA_CHECK(call)                                                                     \
    do {                                                                                     \
        cudaError_t cuda_check_err_ = (call);                                                \
        if (cuda_check_err_ != cudaSuccess)                                                  \
            noln::fail("CUDA error at %s:%d: %s (%s)", __FILE__, __LINE__,                   \
                       cudaGetErrorString(cuda_check_err_), #call);                          \
    } while (0)
// After a launch: configuration errors surface here instead of at the next sync.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

__host__ __device__ inline int ceil_div(long a, long b) { return (int)((a + b - 1) / b); }

// ---- conversions: one spelling for both precisions
__device__ __host__ inline float to_float(float x) { return x; }
__device__ __host__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T>
__device__ __host__ inline T from_float(float x);
template <>
__device__ __host__ inline float from_float<float>(float x) { return x; }
template <>
__device__ __host__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16(x); }

// ---- 128-bit vectors: one load or store moves 16 bytes (8 bf16 or 4 fp32). Pointers
// must be 16-byte aligned; launchers check with is_aligned16 and fall back to scalars.
template <typename T>
struct alignas(16) Vec128 {
    static constexpr int size = 16 / sizeof(T);
    T v[size];
    __device__ __host__ float get(int i) const { return to_float(v[i]); }
    __device__ __host__ void set(int i, float x) { v[i] = from_float<T>(x); }
};
// nvcc: one int4 access (a single 128-bit instruction); `streaming` adds the evict-first
// hint (__ldcs/__stcs) for data read or written once per kernel, so it does not push reused
// data out of L1/L2. g++ (the emulator) would be free to miscompile that type pun under
// strict aliasing, so it gets memcpy (and no hint).
template <typename T>
__device__ inline Vec128<T> load_vec(const T* p, bool streaming = false) {
    Vec128<T> r;
#ifdef __CUDACC__
    const int4* q = reinterpret_cast<const int4*>(p);
    *reinterpret_cast<int4*>(&r) = streaming ? __ldcs(q) : *q;
#else
    (void)streaming;
    memcpy((void*)&r, (const void*)p, 16);
#endif
    return r;
}
template <typename T>
__device__ inline void store_vec(T* p, const Vec128<T>& x, bool streaming = false) {
#ifdef __CUDACC__
    int4* q = reinterpret_cast<int4*>(p);
    const int4 v = *reinterpret_cast<const int4*>(&x);
    if (streaming) __stcs(q, v);
    else *q = v;
#else
    (void)streaming;
    memcpy((void*)p, (const void*)&x, 16);
#endif
}
inline bool is_aligned16(const void* p) { return ((uintptr_t)p & 15) == 0; }

// ---- chunks: a row (or range) of n elements walked in 16-byte chunks of Vec128<T>::size
// elements. Chunk j holds elements [j S, j S + S) of which those < n are valid; a chunk is
// one 128-bit access when `vec` (the host checked base alignment and that n leaves every
// chunk start aligned) and it lies wholly inside, else element by element, padded with
// zeros. The caller's arithmetic sees the same values in the same order either way, so
// the vector and scalar paths give bitwise identical results.
template <typename T>
__device__ inline Vec128<T> load_chunk(const T* p, long c0, long n, bool vec) {
    constexpr int S = Vec128<T>::size;
    if (vec && c0 + S <= n) return load_vec(p + c0);
    Vec128<T> r;
    for (int k = 0; k < S; k++) r.v[k] = c0 + k < n ? p[c0 + k] : from_float<T>(0.0f);
    return r;
}
template <typename T>
__device__ inline Vec128<T> load_chunk_cs(const T* p, long c0, long n, bool vec) {
    constexpr int S = Vec128<T>::size;
    if (vec && c0 + S <= n) return load_vec(p + c0, true);
    return load_chunk(p, c0, n, false);
}
template <typename T>
__device__ inline void store_chunk(T* p, long c0, long n, bool vec, const Vec128<T>& x) {
    constexpr int S = Vec128<T>::size;
    if (vec && c0 + S <= n) return store_vec(p + c0, x);
    for (int k = 0; k < S && c0 + k < n; k++) p[c0 + k] = x.v[k];
}
template <typename T>
__device__ inline void store_chunk_cs(T* p, long c0, long n, bool vec, const Vec128<T>& x) {
    constexpr int S = Vec128<T>::size;
    if (vec && c0 + S <= n) return store_vec(p + c0, x, true);
    store_chunk(p, c0, n, false, x);
}
// Rows of `row_elems` elements at `base` can all be moved in 128-bit chunks when the base is
// 16-byte aligned and every row starts on a 16-byte boundary.
template <typename T>
inline bool rows_vec_ok(const T* base, long row_elems) {
    return base == nullptr || (is_aligned16(base) && (row_elems * (long)sizeof(T)) % 16 == 0);
}

// ---- reductions. The order of additions is fixed by the code (never by timing), so
// results are bitwise reproducible run to run.
__device__ inline float warp_sum(float v) {
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}
__device__ inline float warp_max(float v) {
    for (int off = 16; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}
// Every thread of the block gets the sum. blockDim.x must be a multiple of 32, and every
// thread of the block must call it (it holds two barriers).
__device__ inline float block_sum(float v) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    v = warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < nwarps ? partial[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();  // partial may be reused by the next call
    return v;
}
__device__ inline float block_max(float v) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    v = warp_max(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < nwarps ? partial[lane] : -INFINITY;
    v = warp_max(v);
    __syncthreads();
    return v;
}

// ---- stochastic rounding fp32 -> bf16 (AdamW's master -> parameter copy). Unbiased: x
// rounds up with probability (x - down) / (up - down). The random bits are a hash of
// (seed, index), so a step is reproducible and independent of the launch shape.
__device__ __host__ inline uint32_t hash_u32(uint32_t x, uint32_t seed) {
    uint32_t h = x * 0x9E3779B1u ^ seed * 0x85EBCA77u;
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    return h;
}
__device__ __host__ inline __nv_bfloat16 bf16_from_bits(uint16_t b) {
    __nv_bfloat16_raw r;
    r.x = b;
    return __nv_bfloat16(r);
}
__device__ inline __nv_bfloat16 stochastic_round_bf16(float x, uint32_t rnd) {
    uint32_t bits = __float_as_uint(x);
    if ((bits & 0x7F800000u) == 0x7F800000u) return __float2bfloat16(x);  // inf/NaN as is
    // Adding 16 random bits below the kept ones and truncating rounds away from zero in
    // magnitude with probability equal to the dropped fraction.
    bits += rnd & 0xFFFFu;
    return bf16_from_bits((uint16_t)(bits >> 16));
}
template <typename T>
__device__ inline T round_param(float x, uint32_t rnd);
template <>
__device__ inline float round_param<float>(float x, uint32_t) { return x; }
template <>
__device__ inline __nv_bfloat16 round_param<__nv_bfloat16>(float x, uint32_t rnd) {
    return stochastic_round_bf16(x, rnd);
}
