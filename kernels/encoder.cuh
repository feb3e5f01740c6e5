// Token + position embedding: out[b,t,:] = wte[inp[b,t],:] + wpe[t,:].
// The backward is deterministic: no float atomics. A token id can occur many times in a
// batch, so the host groups positions by token (EncoderBuckets, built from the inputs it
// already holds) and one thread sums one (token, channel) over its positions in order.
#pragma once
#include <algorithm>
#include <vector>

#include "kernels/common.cuh"

__global__ void encoder_forward_kernel(floatX* out, const int* inp, const floatX* wte,
                                       const floatX* wpe, int N, int T, int C) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)N * C) return;
    const long n = idx / C;
    const int c = (int)(idx % C), t = (int)(n % T);
    out[idx] = from_float<floatX>(to_float(wte[(long)inp[n] * C + c]) + to_float(wpe[(long)t * C + c]));
}

inline void encoder_forward(floatX* out, const int* inp, const floatX* wte, const floatX* wpe,
                            int B, int T, int C, cudaStream_t stream = 0) {
    const int block = 256;
    encoder_forward_kernel<<<ceil_div((long)B * T * C, block), block, 0, stream>>>(out, inp, wte, wpe,
                                                                                   B * T, T, C);
    CUDA_CHECK_LAUNCH();
}

// Positions of a micro-batch grouped by token id (CSR): bucket k holds token tokens[k] at
// positions pos[start[k] .. start[k+1]), in increasing order.
struct EncoderBuckets {
    std::vector<int> tokens, start, pos;
    void build(const int* inp, int N) {
        std::vector<int> order(N);
        for (int i = 0; i < N; i++) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return inp[a] < inp[b]; });
        tokens.clear();
        start.clear();
        pos = order;
        for (int i = 0; i < N; i++)
            if (i == 0 || inp[order[i]] != inp[order[i - 1]]) {
                tokens.push_back(inp[order[i]]);
                start.push_back(i);
            }
        start.push_back(N);
    }
};

// dwte[tok, c] += sum over that token's positions of dout[pos, c]; grid (buckets, C chunks).
__global__ void encoder_backward_wte_kernel(floatX* dwte, const floatX* dout, const int* tokens,
                                            const int* start, const int* pos, int C) {
    const int k = blockIdx.x;
    const int c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float s = 0.0f;
    for (int j = start[k]; j < start[k + 1]; j++) s += to_float(dout[(long)pos[j] * C + c]);
    floatX* d = dwte + (long)tokens[k] * C + c;
    *d = from_float<floatX>(to_float(*d) + s);
}

// dwpe[t, c] += sum over b of dout[b, t, c], b in order.
__global__ void encoder_backward_wpe_kernel(floatX* dwpe, const floatX* dout, int B, int T, int C) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)T * C) return;
    float s = 0.0f;
    for (int b = 0; b < B; b++) s += to_float(dout[(long)b * T * C + idx]);
    dwpe[idx] = from_float<floatX>(to_float(dwpe[idx]) + s);
}

// Accumulates. d_tokens/d_start/d_pos are device copies of a bucket list built from inp
// (sizes nbuckets, nbuckets + 1, B*T).
inline void encoder_backward(floatX* dwte, floatX* dwpe, const floatX* dout, const int* d_tokens,
                             const int* d_start, const int* d_pos, int nbuckets, int B, int T,
                             int C, cudaStream_t stream = 0) {
    const int block = 256;
    if (nbuckets > 0) {
        dim3 grid(nbuckets, ceil_div(C, block));
        encoder_backward_wte_kernel<<<grid, block, 0, stream>>>(dwte, dout, d_tokens, d_start, d_pos, C);
        CUDA_CHECK_LAUNCH();
    }
    encoder_backward_wpe_kernel<<<ceil_div((long)T * C, block), block, 0, stream>>>(dwpe, dout, B, T, C);
    CUDA_CHECK_LAUNCH();
}
