// v1 of the GELU backward: the kernel before issue 12, kept as the lab's baseline. It
// always accumulates (dinp += gelu'(x) dout), so the trainer zeroed dinp before it; 128-bit
// accesses when aligned but plain loads (no streaming hint) and dinp always read. The
// derivative gelu_grad_f is kernels/gelu.cuh's, unchanged. The forward was the same kernel
// as today's but for the erf switch: kernels/gelu.cuh's gelu_forward serves both versions.
#pragma once
#include "kernels/gelu.cuh"

__global__ void gelu_backward_v1_kernel(floatX* dinp, const floatX* inp, const floatX* dout, long N, bool vec) {
    constexpr int S = Vec128<floatX>::size;
    const long i = ((long)blockIdx.x * blockDim.x + threadIdx.x) * S;
    if (i >= N) return;
    if (vec && i + S <= N) {
        Vec128<floatX> x = load_vec(inp + i), d = load_vec(dout + i), o = load_vec(dinp + i);
        for (int k = 0; k < S; k++) o.set(k, o.get(k) + gelu_grad_f(x.get(k)) * d.get(k));
        store_vec(dinp + i, o);
    } else {
        for (long j = i; j < N && j < i + S; j++)
            dinp[j] = from_float<floatX>(to_float(dinp[j]) + gelu_grad_f(to_float(inp[j])) * to_float(dout[j]));
    }
}

inline void gelu_backward_v1(floatX* dinp, const floatX* inp, const floatX* dout, long N) {
    const int block = 256;
    const bool vec = is_aligned16(dinp) && is_aligned16(inp) && is_aligned16(dout);
    gelu_backward_v1_kernel<<<ceil_div(ceil_div(N, Vec128<floatX>::size), block), block>>>(dinp, inp, dout, N, vec);
    CUDA_CHECK_LAUNCH();
}
