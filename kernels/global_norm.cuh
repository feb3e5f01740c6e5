// Squared L2 norm of gradient buffers, deterministic: a fixed number of blocks
// (GN_BLOCKS, independent of the device) each write one partial sum; a one-block kernel
// adds every partial in index order. Several tensors (or ranks' shards) use several slots
// of one partials buffer and share one finish.
#pragma once
#include "kernels/common.cuh"

constexpr int GN_BLOCKS = 128;
constexpr int GN_THREADS = 512;

// Each thread walks 16-byte chunks (128-bit loads when vec), grid-strided; the order of the
// additions depends only on n, never on timing.
__global__ void global_norm_partial_kernel(float* partials, const floatX* g, size_t n, bool vec) {
    constexpr int S = Vec128<floatX>::size;
    float s = 0.0f;
    for (size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * S; i < n; i += (size_t)gridDim.x * blockDim.x * S) {
        const Vec128<floatX> x = load_chunk_cs(g, (long)i, (long)n, vec);
        for (int k = 0; k < S; k++) s += x.get(k) * x.get(k);  // the zero padding adds nothing
    }
    s = block_sum(s);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// Writes GN_BLOCKS partials at partials + slot * GN_BLOCKS.
inline void global_norm_squared_partial(float* partials, int slot, const floatX* g, size_t n,
                                        cudaStream_t stream = 0) {
    global_norm_partial_kernel<<<GN_BLOCKS, GN_THREADS, 0, stream>>>(partials + (size_t)slot * GN_BLOCKS, g, n,
                                                                    is_aligned16(g));
    CUDA_CHECK_LAUNCH();
}

__global__ void global_norm_finish_kernel(float* out, const float* partials, int count) {
    float s = 0.0f;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
    s = block_sum(s);
    if (threadIdx.x == 0) *out = s;
}

// *out = sum of the first nslots * GN_BLOCKS partials (a squared norm; sqrt on the host).
inline void global_norm_squared_finish(float* out, const float* partials, int nslots,
                                       cudaStream_t stream = 0) {
    global_norm_finish_kernel<<<1, 1024, 0, stream>>>(out, partials, nslots * GN_BLOCKS);
    CUDA_CHECK_LAUNCH();
}
