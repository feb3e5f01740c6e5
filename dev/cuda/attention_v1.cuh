// dev/cuda v1: the trainer's attention before issue 9, kept as the lab's baseline (names
// prefixed v1_; its dot product is kernels/attention.cuh's att_dot, the same loop).
// Causal multi-head self-attention on a (B, T, 3C) qkv buffer (Q for all heads, then K,
// then V; head h owns columns h*hs .. h*hs+hs-1 of each third), as cpu/attention.h:
//   att[b,h,t,t2] = softmax_{t2<=t}(q_t . k_t2 / sqrt(hs)),  out[b,t,h*hs+i] = sum att * v_t2
// att (B, NH, T, T) is kept for the backward; entries above the diagonal are written 0.
// Our own kernels (no cuDNN): one warp per (b, h, query row). Simple and exact rather than
// fast: scores are recomputed instead of staged in bf16 (a bf16 score of ~10 would carry a
// ~4% error into its probability), and the T^2 attention matrix is materialised.
// The backward is deterministic: every output element is summed by one thread in a fixed
// order (dq per query row; dk and dv per key row), no atomics.
#pragma once
#include <cmath>

#include "kernels/attention.cuh"  // att_dot
#include "kernels/common.cuh"

constexpr int ATT_V1_THREADS = 256;
constexpr int ATT_V1_ROWS = ATT_V1_THREADS / 32;

__global__ void __launch_bounds__(ATT_V1_THREADS)
attention_v1_forward_kernel(floatX* out, floatX* att, const floatX* qkv, int B, int T, int C, int NH) {
    const int lane = threadIdx.x % 32;
    const long idx = (long)blockIdx.x * ATT_V1_ROWS + threadIdx.x / 32;  // (b, h, t)
    if (idx >= (long)B * NH * T) return;  // whole warps leave together
    const int t = (int)(idx % T), h = (int)((idx / T) % NH), b = (int)(idx / ((long)T * NH));
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const long rowq = ((long)b * T + t) * 3 * C;
    const floatX* q = qkv + rowq + h * hs;
    // pass 1: online max and sum of exp over this lane's keys, then across the warp
    float m = -INFINITY, s = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) {
        const float x = att_dot(q, qkv + ((long)b * T + t2) * 3 * C + C + h * hs, hs) * scale;
        if (x > m) {
            s = s * expf(m - x) + 1.0f;
            m = x;
        } else {
            s += expf(x - m);
        }
    }
    const float mx = warp_max(m);
    s = warp_sum(m == -INFINITY ? 0.0f : s * expf(m - mx));
    const float inv = 1.0f / s;
    // pass 2: probabilities
    floatX* a = att + idx * T;
    for (int t2 = lane; t2 < T; t2 += 32) {
        float p = 0.0f;
        if (t2 <= t) p = expf(att_dot(q, qkv + ((long)b * T + t2) * 3 * C + C + h * hs, hs) * scale - mx) * inv;
        a[t2] = from_float<floatX>(p);
    }
    __syncwarp();  // the row written by all lanes is read by all lanes below
    // out = att v, one head dimension per lane
    for (int i = lane; i < hs; i += 32) {
        float o = 0.0f;
        for (int t2 = 0; t2 <= t; t2++) o += to_float(a[t2]) * to_float(qkv[((long)b * T + t2) * 3 * C + 2 * C + h * hs + i]);
        out[((long)b * T + t) * C + h * hs + i] = from_float<floatX>(o);
    }
}

inline void attention_v1_forward(floatX* out, floatX* att, const floatX* qkv, int B, int T, int C, int NH,
                              cudaStream_t stream = 0) {
    const long rows = (long)B * NH * T;
    attention_v1_forward_kernel<<<ceil_div(rows, ATT_V1_ROWS), ATT_V1_THREADS, 0, stream>>>(out, att, qkv, B, T, C, NH);
    CUDA_CHECK_LAUNCH();
}

// Per query row: dpre[t2] = att * (datt - sum(att * datt)) * scale with datt = dout_t . v_t2,
// kept in dpre (fp32, B*NH*T*T) for the key-side kernel; then dq_t += sum dpre k_t2.
__global__ void __launch_bounds__(ATT_V1_THREADS)
attention_v1_backward_query_kernel(floatX* dqkv, float* dpre, const floatX* dout, const floatX* qkv,
                                const floatX* att, int B, int T, int C, int NH) {
    const int lane = threadIdx.x % 32;
    const long idx = (long)blockIdx.x * ATT_V1_ROWS + threadIdx.x / 32;
    if (idx >= (long)B * NH * T) return;
    const int t = (int)(idx % T), h = (int)((idx / T) % NH), b = (int)(idx / ((long)T * NH));
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const floatX* d = dout + ((long)b * T + t) * C + h * hs;
    const floatX* a = att + idx * T;
    float* dp = dpre + idx * T;
    float dot = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) {
        const float datt = att_dot(d, qkv + ((long)b * T + t2) * 3 * C + 2 * C + h * hs, hs);
        dp[t2] = datt;
        dot += to_float(a[t2]) * datt;
    }
    dot = warp_sum(dot);
    for (int t2 = lane; t2 < T; t2 += 32)  // each lane rewrites only the entries it wrote
        dp[t2] = t2 <= t ? to_float(a[t2]) * (dp[t2] - dot) * scale : 0.0f;
    __syncwarp();
    floatX* dq = dqkv + ((long)b * T + t) * 3 * C + h * hs;
    for (int i = lane; i < hs; i += 32) {
        float s = 0.0f;
        for (int t2 = 0; t2 <= t; t2++) s += dp[t2] * to_float(qkv[((long)b * T + t2) * 3 * C + C + h * hs + i]);
        dq[i] = from_float<floatX>(to_float(dq[i]) + s);
    }
}

// Per key row t2: dk += sum_{t>=t2} dpre[t, t2] q_t and dv += sum_{t>=t2} att[t, t2] dout_t.
__global__ void __launch_bounds__(ATT_V1_THREADS)
attention_v1_backward_key_kernel(floatX* dqkv, const float* dpre, const floatX* dout, const floatX* qkv,
                              const floatX* att, int B, int T, int C, int NH) {
    const int lane = threadIdx.x % 32;
    const long idx = (long)blockIdx.x * ATT_V1_ROWS + threadIdx.x / 32;
    if (idx >= (long)B * NH * T) return;
    const int t2 = (int)(idx % T), h = (int)((idx / T) % NH), b = (int)(idx / ((long)T * NH));
    const int hs = C / NH;
    const long head = ((long)b * NH + h) * T;  // row index of (b, h, t=0)
    floatX* dk = dqkv + ((long)b * T + t2) * 3 * C + C + h * hs;
    floatX* dv = dk + C;
    for (int i = lane; i < hs; i += 32) {
        float sk = 0.0f, sv = 0.0f;
        for (int t = t2; t < T; t++) {
            sk += dpre[(head + t) * T + t2] * to_float(qkv[((long)b * T + t) * 3 * C + h * hs + i]);
            sv += to_float(att[(head + t) * T + t2]) * to_float(dout[((long)b * T + t) * C + h * hs + i]);
        }
        dk[i] = from_float<floatX>(to_float(dk[i]) + sk);
        dv[i] = from_float<floatX>(to_float(dv[i]) + sv);
    }
}

// Accumulates into dqkv. dpre: fp32 scratch of B*NH*T*T floats (reusable across layers).
inline void attention_v1_backward(floatX* dqkv, float* dpre, const floatX* dout, const floatX* qkv,
                               const floatX* att, int B, int T, int C, int NH, cudaStream_t stream = 0) {
    const int blocks = ceil_div((long)B * NH * T, ATT_V1_ROWS);
    attention_v1_backward_query_kernel<<<blocks, ATT_V1_THREADS, 0, stream>>>(dqkv, dpre, dout, qkv, att, B, T, C, NH);
    CUDA_CHECK_LAUNCH();
    attention_v1_backward_key_kernel<<<blocks, ATT_V1_THREADS, 0, stream>>>(dqkv, dpre, dout, qkv, att, B, T, C, NH);
    CUDA_CHECK_LAUNCH();
}
