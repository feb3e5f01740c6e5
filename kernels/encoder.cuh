// Token + position embedding: out[b,t,:] = wte[inp[b,t],:] + wpe[t,:].
// The backward is deterministic: no float atomics. A token id can occur many times in a
// batch, so the host groups positions by token (EncoderBuckets, built from the inputs it
// already holds) and one thread sums one (token, channel) over its positions in order.
#pragma once
#include <algorithm>
#include <vector>

#include "kernels/common.cuh"

// Rows of C channels in 16-byte chunks of ENC_S (common.cuh): one thread per (row, chunk).
constexpr int ENC_S = Vec128<floatX>::size;

__global__ void encoder_forward_kernel(floatX* out, const int* inp, const floatX* wte,
                                       const floatX* wpe, int N, int T, int C, bool vec) {
    const int chunks = ceil_div(C, ENC_S);
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)N * chunks) return;
    const long n = idx / chunks;
    const int c0 = (int)(idx % chunks) * ENC_S, t = (int)(n % T);
    const Vec128<floatX> e = load_chunk(wte + (long)inp[n] * C, c0, C, vec), p = load_chunk(wpe + (long)t * C, c0, C, vec);
    Vec128<floatX> o;
    for (int k = 0; k < ENC_S; k++) o.set(k, e.get(k) + p.get(k));
    store_chunk(out + n * C, c0, C, vec, o);
}

inline void encoder_forward(floatX* out, const int* inp, const floatX* wte, const floatX* wpe,
                            int B, int T, int C, cudaStream_t stream = 0) {
    const int block = 256;
    const bool vec = rows_vec_ok(out, C) && rows_vec_ok(wte, C) && rows_vec_ok(wpe, C);
    encoder_forward_kernel<<<ceil_div((long)B * T * ceil_div(C, ENC_S), block), block, 0, stream>>>(
        out, inp, wte, wpe, B * T, T, C, vec);
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

// dwte[tok, c] += sum over that token's positions of dout[pos, c]; grid (buckets, chunks of
// ENC_S channels per thread).
__global__ void encoder_backward_wte_kernel(floatX* dwte, const floatX* dout, const int* tokens,
                                            const int* start, const int* pos, int C, bool vec) {
    const int b = blockIdx.x;
    const int c0 = (blockIdx.y * blockDim.x + threadIdx.x) * ENC_S;
    if (c0 >= C) return;
    float s[ENC_S];
    for (int k = 0; k < ENC_S; k++) s[k] = 0.0f;
    for (int j = start[b]; j < start[b + 1]; j++) {
        const Vec128<floatX> x = load_chunk(dout + (long)pos[j] * C, c0, C, vec);
        for (int k = 0; k < ENC_S; k++) s[k] += x.get(k);
    }
    floatX* d = dwte + (long)tokens[b] * C;
    Vec128<floatX> o = load_chunk(d, c0, C, vec);
    for (int k = 0; k < ENC_S; k++) o.set(k, o.get(k) + s[k]);
    store_chunk(d, c0, C, vec, o);
}

// dwpe[t, c] += sum over b of dout[b, t, c], b in order; one thread per chunk of a row.
__global__ void encoder_backward_wpe_kernel(floatX* dwpe, const floatX* dout, int B, int T, int C, bool vec) {
    const int chunks = ceil_div(C, ENC_S);
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)T * chunks) return;
    const long t = idx / chunks;
    const int c0 = (int)(idx % chunks) * ENC_S;
    float s[ENC_S];
    for (int k = 0; k < ENC_S; k++) s[k] = 0.0f;
    for (int b = 0; b < B; b++) {
        const Vec128<floatX> x = load_chunk(dout + ((long)b * T + t) * C, c0, C, vec);
        for (int k = 0; k < ENC_S; k++) s[k] += x.get(k);
    }
    Vec128<floatX> o = load_chunk(dwpe + t * C, c0, C, vec);
    for (int k = 0; k < ENC_S; k++) o.set(k, o.get(k) + s[k]);
    store_chunk(dwpe + t * C, c0, C, vec, o);
}

// Accumulates. d_tokens/d_start/d_pos are device copies of a bucket list built from inp
// (sizes nbuckets, nbuckets + 1, B*T).
inline void encoder_backward(floatX* dwte, floatX* dwpe, const floatX* dout, const int* d_tokens,
                             const int* d_start, const int* d_pos, int nbuckets, int B, int T,
                             int C, cudaStream_t stream = 0) {
    const int block = 256, chunks = ceil_div(C, ENC_S);
    const bool vec = rows_vec_ok(dwte, C) && rows_vec_ok(dwpe, C) && rows_vec_ok(dout, C);
    if (nbuckets > 0) {
        dim3 grid(nbuckets, ceil_div(chunks, block));
        encoder_backward_wte_kernel<<<grid, block, 0, stream>>>(dwte, dout, d_tokens, d_start, d_pos, C, vec);
        CUDA_CHECK_LAUNCH();
    }
    encoder_backward_wpe_kernel<<<ceil_div((long)T * chunks, block), block, 0, stream>>>(dwpe, dout, B, T, C, vec);
    CUDA_CHECK_LAUNCH();
}
