// v1 of the token + position embedding, forward and backward: the trainer's kernels before
// issue 12, kept as the lab's baseline. One thread per element (forward, position gradient)
// or per (token, channel) (token gradient), scalar 16-bit loads and stores. The bucket lists
// (EncoderBuckets) and the summation order are the ones kernels/encoder.cuh still uses.
#pragma once
#include "kernels/encoder.cuh"

__global__ void encoder_forward_v1_kernel(floatX* out, const int* inp, const floatX* wte, const floatX* wpe, int N,
                                          int T, int C) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)N * C) return;
    const long n = idx / C;
    const int c = (int)(idx % C), t = (int)(n % T);
    out[idx] = from_float<floatX>(to_float(wte[(long)inp[n] * C + c]) + to_float(wpe[(long)t * C + c]));
}

inline void encoder_forward_v1(floatX* out, const int* inp, const floatX* wte, const floatX* wpe, int B, int T, int C) {
    const int block = 256;
    encoder_forward_v1_kernel<<<ceil_div((long)B * T * C, block), block>>>(out, inp, wte, wpe, B * T, T, C);
    CUDA_CHECK_LAUNCH();
}

// dwte[tok, c] += sum over that token's positions of dout[pos, c]; grid (buckets, C chunks).
__global__ void encoder_backward_wte_v1_kernel(floatX* dwte, const floatX* dout, const int* tokens, const int* start,
                                               const int* pos, int C) {
    const int k = blockIdx.x;
    const int c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float s = 0.0f;
    for (int j = start[k]; j < start[k + 1]; j++) s += to_float(dout[(long)pos[j] * C + c]);
    floatX* d = dwte + (long)tokens[k] * C + c;
    *d = from_float<floatX>(to_float(*d) + s);
}

// dwpe[t, c] += sum over b of dout[b, t, c], b in order.
__global__ void encoder_backward_wpe_v1_kernel(floatX* dwpe, const floatX* dout, int B, int T, int C) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)T * C) return;
    float s = 0.0f;
    for (int b = 0; b < B; b++) s += to_float(dout[(long)b * T * C + idx]);
    dwpe[idx] = from_float<floatX>(to_float(dwpe[idx]) + s);
}

inline void encoder_backward_v1(floatX* dwte, floatX* dwpe, const floatX* dout, const int* d_tokens,
                                const int* d_start, const int* d_pos, int nbuckets, int B, int T, int C) {
    const int block = 256;
    if (nbuckets > 0) {
        encoder_backward_wte_v1_kernel<<<dim3(nbuckets, ceil_div(C, block)), block>>>(dwte, dout, d_tokens, d_start,
                                                                                      d_pos, C);
        CUDA_CHECK_LAUNCH();
    }
    encoder_backward_wpe_v1_kernel<<<ceil_div((long)T * C, block), block>>>(dwpe, dout, B, T, C);
    CUDA_CHECK_LAUNCH();
}
