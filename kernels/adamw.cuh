// AdamW (bias-corrected, t from 1, decoupled weight decay), as cpu/adamw.h:
//   g = grad * grad_scale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//   p -= lr * (m / (1-b1^t) / (sqrt(v / (1-b2^t)) + eps) + wd * p)
// Moments are fp32. In the bf16 build the update is applied to an fp32 master copy and the
// bf16 parameter is its stochastic rounding (unbiased, so small updates are not lost to
// round-to-nearest); in the fp32 build master is nullptr and the parameter is the master.
#pragma once
#include <cmath>

#include "kernels/common.cuh"

__global__ void adamw_kernel(floatX* params, float* master, const floatX* grads, float* m, float* v,
                             size_t n, float lr, float b1, float b2, float eps, float wd,
                             float grad_scale, float c1, float c2, uint32_t seed) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float g = to_float(grads[i]) * grad_scale;
    const float mi = b1 * m[i] + (1.0f - b1) * g;
    const float vi = b2 * v[i] + (1.0f - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = master ? master[i] : to_float(params[i]);
    const float np = p - lr * ((mi / c1) / (sqrtf(vi / c2) + eps) + wd * p);
    if (master) master[i] = np;
    params[i] = round_param<floatX>(np, hash_u32((uint32_t)i, seed));
}

// One tensor (or any contiguous range that shares wd). seed varies per step and tensor.
inline void adamw_update(floatX* params, float* master, const floatX* grads, float* m, float* v,
                         size_t n, float lr, float b1, float b2, float eps, float wd,
                         float grad_scale, int t, uint32_t seed, cudaStream_t stream = 0) {
    const float c1 = (float)(1.0 - std::pow((double)b1, t)), c2 = (float)(1.0 - std::pow((double)b2, t));
    const int block = 512;
    adamw_kernel<<<ceil_div((long)n, block), block, 0, stream>>>(params, master, grads, m, v, n, lr, b1,
                                                                 b2, eps, wd, grad_scale, c1, c2, seed);
    CUDA_CHECK_LAUNCH();
}

// Parameter copy from masters, round to nearest (after loading a checkpoint).
__global__ void copy_master_kernel(floatX* params, const float* master, size_t n) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) params[i] = from_float<floatX>(master[i]);
}
inline void copy_master_to_params(floatX* params, const float* master, size_t n, cudaStream_t stream = 0) {
    copy_master_kernel<<<ceil_div((long)n, 512), 512, 0, stream>>>(params, master, n);
    CUDA_CHECK_LAUNCH();
}
