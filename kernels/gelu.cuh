// GELU, tanh approximation (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
// computed in fp32 whatever floatX is. One 16-byte vector per thread when aligned.
#pragma once
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

__global__ void gelu_forward_kernel(floatX* out, const floatX* inp, long N, bool vec) {
    constexpr int S = Vec128<floatX>::size;
    const long i = ((long)blockIdx.x * blockDim.x + threadIdx.x) * S;
    if (i >= N) return;
    if (vec && i + S <= N) {
        Vec128<floatX> x = load_vec(inp + i), o;
        for (int k = 0; k < S; k++) o.set(k, gelu_f(x.get(k)));
        store_vec(out + i, o);
    } else {
        for (long j = i; j < N && j < i + S; j++) out[j] = from_float<floatX>(gelu_f(to_float(inp[j])));
    }
}

inline void gelu_forward(floatX* out, const floatX* inp, long N, cudaStream_t stream = 0) {
    const int block = 256;
    const bool vec = is_aligned16(out) && is_aligned16(inp);
    gelu_forward_kernel<<<ceil_div(ceil_div(N, Vec128<floatX>::size), block), block, 0, stream>>>(
        out, inp, N, vec);
    CUDA_CHECK_LAUNCH();
}

// dinp += gelu'(inp) * dout, or dinp = gelu'(inp) * dout with overwrite (a first write:
// no memset before it). dout is read once: streaming loads.
__global__ void gelu_backward_kernel(floatX* dinp, const floatX* inp, const floatX* dout, long N,
                                     bool vec, bool overwrite) {
    constexpr int S = Vec128<floatX>::size;
    const long i = ((long)blockIdx.x * blockDim.x + threadIdx.x) * S;
    if (i >= N) return;
    const Vec128<floatX> x = load_chunk(inp, i, N, vec), d = load_chunk_cs(dout, i, N, vec);
    Vec128<floatX> o;
    if (!overwrite) o = load_chunk(dinp, i, N, vec);
    for (int k = 0; k < S; k++) {
        const float g = gelu_grad_f(x.get(k)) * d.get(k);
        o.set(k, overwrite ? g : o.get(k) + g);
    }
    store_chunk(dinp, i, N, vec, o);
}

inline void gelu_backward(floatX* dinp, const floatX* inp, const floatX* dout, long N,
                          cudaStream_t stream = 0, bool overwrite = false) {
    const int block = 256;
    const bool vec = is_aligned16(dinp) && is_aligned16(inp) && is_aligned16(dout);
    gelu_backward_kernel<<<ceil_div(ceil_div(N, Vec128<floatX>::size), block), block, 0, stream>>>(
        dinp, inp, dout, N, vec, overwrite);
    CUDA_CHECK_LAUNCH();
}
