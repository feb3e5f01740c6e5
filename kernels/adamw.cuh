// AdamW (bias-corrected, t from 1, decoupled weight decay), as cpu/adamw.h:
//   g = grad * grad_scale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//   p -= lr * (m / (1-b1^t) / (sqrt(v / (1-b2^t)) + eps) + wd * p)
// Moments are fp32. In the bf16 build the update is applied to an fp32 master copy and the
// bf16 parameter is its stochastic rounding (unbiased, so small updates are not lost to
// round-to-nearest); in the fp32 build master is nullptr and the parameter is the master.
// One thread updates ADAMW_S consecutive elements (one 16-byte chunk of floatX: 8 bf16 or
// 4 fp32) with 128-bit accesses, every array read and written once (streaming hints).
#pragma once
#include <cmath>

#include "kernels/common.cuh"

constexpr int ADAMW_S = Vec128<floatX>::size;
constexpr int ADAMW_F = ADAMW_S / Vec128<float>::size;  // fp32 chunks per floatX chunk

// ADAMW_S fp32 values from i (i a multiple of ADAMW_S) as ADAMW_F 16-byte chunks.
__device__ inline void adamw_load_f32(float* out, const float* p, size_t i, size_t n, bool vec) {
    for (int f = 0; f < ADAMW_F; f++) {
        const Vec128<float> x = load_chunk_cs(p, (long)(i + 4 * f), (long)n, vec);
        for (int k = 0; k < 4; k++) out[4 * f + k] = x.v[k];
    }
}
__device__ inline void adamw_store_f32(float* p, const float* in, size_t i, size_t n, bool vec) {
    for (int f = 0; f < ADAMW_F; f++) {
        Vec128<float> x;
        for (int k = 0; k < 4; k++) x.v[k] = in[4 * f + k];
        store_chunk_cs(p, (long)(i + 4 * f), (long)n, vec, x);
    }
}

__global__ void adamw_kernel(floatX* params, float* master, const floatX* grads, float* m, float* v,
                             size_t n, float lr, float b1, float b2, float eps, float wd,
                             float grad_scale, float c1, float c2, uint32_t seed, bool vec) {
    const size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * ADAMW_S;
    if (i >= n) return;
    const Vec128<floatX> gv = load_chunk_cs(grads, (long)i, (long)n, vec);
    float mv[ADAMW_S], vv[ADAMW_S], pv[ADAMW_S];
    adamw_load_f32(mv, m, i, n, vec);
    adamw_load_f32(vv, v, i, n, vec);
    if (master) {
        adamw_load_f32(pv, master, i, n, vec);
    } else {
        const Vec128<floatX> p = load_chunk_cs(params, (long)i, (long)n, vec);
        for (int k = 0; k < ADAMW_S; k++) pv[k] = p.get(k);
    }
    Vec128<floatX> out;
    for (int k = 0; k < ADAMW_S; k++) {
        const float g = gv.get(k) * grad_scale;
        mv[k] = b1 * mv[k] + (1.0f - b1) * g;
        vv[k] = b2 * vv[k] + (1.0f - b2) * g * g;
        pv[k] = pv[k] - lr * ((mv[k] / c1) / (sqrtf(vv[k] / c2) + eps) + wd * pv[k]);
        out.v[k] = round_param<floatX>(pv[k], hash_u32((uint32_t)(i + k), seed));
    }
    adamw_store_f32(m, mv, i, n, vec);
    adamw_store_f32(v, vv, i, n, vec);
    if (master) adamw_store_f32(master, pv, i, n, vec);
    store_chunk_cs(params, (long)i, (long)n, vec, out);
}

// One tensor (or any contiguous range that shares wd). seed varies per step and tensor.
inline void adamw_update(floatX* params, float* master, const floatX* grads, float* m, float* v,
                         size_t n, float lr, float b1, float b2, float eps, float wd,
                         float grad_scale, int t, uint32_t seed, cudaStream_t stream = 0) {
    const float c1 = (float)(1.0 - std::pow((double)b1, t)), c2 = (float)(1.0 - std::pow((double)b2, t));
    const int block = 512;
    const bool vec = is_aligned16(params) && is_aligned16(grads) && is_aligned16(m) && is_aligned16(v) &&
                     (!master || is_aligned16(master));
    adamw_kernel<<<ceil_div(ceil_div((long)n, ADAMW_S), block), block, 0, stream>>>(
        params, master, grads, m, v, n, lr, b1, b2, eps, wd, grad_scale, c1, c2, seed, vec);
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
