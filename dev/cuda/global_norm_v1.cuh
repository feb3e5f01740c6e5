// v1 of the gradients' squared norm: the partial-sum kernel before issue 12, kept as the
// lab's baseline (GN_BLOCKS blocks, grid-strided, one scalar 16-bit load per step). The
// finish kernel (the partials added in index order) is unchanged: kernels/global_norm.cuh's
// global_norm_finish_kernel, through global_norm_squared_finish.
#pragma once
#include "kernels/global_norm.cuh"

__global__ void global_norm_partial_v1_kernel(float* partials, const floatX* g, size_t n) {
    float s = 0.0f;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float x = to_float(g[i]);
        s += x * x;
    }
    s = block_sum(s);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// Writes GN_BLOCKS partials at partials + slot * GN_BLOCKS.
inline void global_norm_squared_partial_v1(float* partials, int slot, const floatX* g, size_t n) {
    global_norm_partial_v1_kernel<<<GN_BLOCKS, GN_THREADS>>>(partials + (size_t)slot * GN_BLOCKS, g, n);
    CUDA_CHECK_LAUNCH();
}
