// GELU, tanh approximation (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
// computed in fp32 whatever floatX is. One 16-byte vector per thread when aligned.
// Gelu::Erf (--gelu erf, paper (a)'s nanoGPT) is the exact 0.5 x (1 + erf(x / sqrt(2))).
// cuBLASLt's GELU epilogue (kernels/matmul.cuh) is the tanh form only, so the erf model
// runs the plain matmul and then these kernels.
#pragma once
#include "host/gelu_kind.h"
#include "kernels/common.cuh"

#define GELU_SCALE 0.7978845608028654f  // sqrt(2/pi)

__device__ inline float gelu_f(float x) {
    return 0.5f * x * (1.0f + tanhf(GELU_SCALE * (x + 0.044715f * x * x * x)));
}
__device__ inline float gelu_grad_f(float x) {
    const float th = tanhf(GELU_SCALE * (x + 0.044715f * x * x * x));
    const float du = GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
    return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
}

__device__ inline float gelu_erf_f(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ inline float gelu_erf_grad_f(float x) {
    return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x);
}
__device__ inline float gelu_of(float x, bool erf) { return erf ? gelu_erf_f(x) : gelu_f(x); }
__device__ inline float gelu_grad_of(float x, bool erf) { return erf ? gelu_erf_grad_f(x) : gelu_grad_f(x); }

__global__ void gelu_forward_kernel(floatX* out, const floatX* inp, long N, bool vec, bool erf) {
    constexpr int S = Vec128<floatX>::size;
    const long i = ((long)blockIdx.x * blockDim.x + threadIdx.x) * S;
    if (i >= N) return;
    if (vec && i + S <= N) {
        Vec128<floatX> x = load_vec(inp + i), o;
        for (int k = 0; k < S; k++) o.set(k, gelu_of(x.get(k), erf));
        store_vec(out + i, o);
    } else {
        for (long j = i; j < N && j < i + S; j++) out[j] = from_float<floatX>(gelu_of(to_float(inp[j]), erf));
    }
}

inline void gelu_forward(floatX* out, const floatX* inp, long N, noln::Gelu kind = noln::Gelu::Tanh,
                         cudaStream_t stream = 0) {
    const int block = 256;
    const bool vec = is_aligned16(out) && is_aligned16(inp);
    gelu_forward_kernel<<<ceil_div(ceil_div(N, Vec128<floatX>::size), block), block, 0, stream>>>(
        out, inp, N, vec, kind == noln::Gelu::Erf);
    CUDA_CHECK_LAUNCH();
}

// dinp += gelu'(inp) * dout, or dinp = gelu'(inp) * dout with overwrite (a first write:
// no memset before it). dout is read once: streaming loads.
__global__ void gelu_backward_kernel(floatX* dinp, const floatX* inp, const floatX* dout, long N,
                                     bool vec, bool erf, bool overwrite) {
    constexpr int S = Vec128<floatX>::size;
    const long i = ((long)blockIdx.x * blockDim.x + threadIdx.x) * S;
    if (i >= N) return;
    const Vec128<floatX> x = load_chunk(inp, i, N, vec), d = load_chunk_cs(dout, i, N, vec);
    Vec128<floatX> o;
    if (!overwrite) o = load_chunk(dinp, i, N, vec);
    for (int k = 0; k < S; k++) {
        const float g = gelu_grad_of(x.get(k), erf) * d.get(k);
        o.set(k, overwrite ? g : o.get(k) + g);
    }
    store_chunk(dinp, i, N, vec, o);
}

inline void gelu_backward(floatX* dinp, const floatX* inp, const floatX* dout, long N,
                          noln::Gelu kind = noln::Gelu::Tanh, cudaStream_t stream = 0,
                          bool overwrite = false) {
    const int block = 256;
    const bool vec = is_aligned16(dinp) && is_aligned16(inp) && is_aligned16(dout);
    gelu_backward_kernel<<<ceil_div(ceil_div(N, Vec128<floatX>::size), block), block, 0, stream>>>(
        dinp, inp, dout, N, vec, kind == noln::Gelu::Erf, overwrite);
    CUDA_CHECK_LAUNCH();
}
