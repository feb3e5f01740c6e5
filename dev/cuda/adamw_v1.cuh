// v1 of the AdamW update: the kernel before issue 12, kept as the lab's baseline (one
// element per thread, scalar loads and stores). Same formula, same stochastic rounding
// (round_param with hash_u32 of the element index) as kernels/adamw.cuh.
#pragma once
#include "kernels/adamw.cuh"

__global__ void adamw_v1_kernel(floatX* params, float* master, const floatX* grads, float* m, float* v, size_t n,
                                float lr, float b1, float b2, float eps, float wd, float grad_scale, float c1, float c2,
                                uint32_t seed) {
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

inline void adamw_update_v1(floatX* params, float* master, const floatX* grads, float* m, float* v, size_t n, float lr,
                            float b1, float b2, float eps, float wd, float grad_scale, int t, uint32_t seed) {
    const float c1 = (float)(1.0 - std::pow((double)b1, t)), c2 = (float)(1.0 - std::pow((double)b2, t));
    const int block = 512;
    adamw_v1_kernel<<<ceil_div((long)n, block), block>>>(params, master, grads, m, v, n, lr, b1, b2, eps, wd,
                                                         grad_scale, c1, c2, seed);
    CUDA_CHECK_LAUNCH();
}
