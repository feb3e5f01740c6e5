// dev/cuda v2: attention as cuBLASLt strided batched GEMMs (tensor cores in BF16) plus a
// causal softmax kernel. Still materialises the T^2 matrices: fp32 scores, floatX
// probabilities att (B, NH, T, T) kept for the backward, and in the backward fp32 d(att)
// and floatX d(pre-softmax). One GEMM call per sequence b, batched over the NH heads
// (head h's Q, K, V start h*hs columns further: the batch stride is hs).
// Row-major X (R x K, ld L) is column-major X^T, so each product is written transposed:
//   S^T = K Q^T,  out^T = V^T att^T,  datt^T = V dout^T,  dv^T += dout^T att,
//   dq^T += K^T dpre^T,  dk^T += Q^T dpre.
#pragma once
#include <cmath>

#include "kernels/common.cuh"
#include "kernels/matmul.cuh"

// Causal softmax of fp32 score rows (already scaled) into floatX probabilities, zeros
// above the diagonal; one warp per (b, h, t) row.
__global__ void attention_v2_softmax_kernel(floatX* att, const float* scores, long rows, int T) {
    const long idx = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (idx >= rows) return;
    const int lane = threadIdx.x % 32, t = (int)(idx % T);
    const float* s = scores + idx * T;
    float m = -INFINITY;
    for (int t2 = lane; t2 <= t; t2 += 32) m = fmaxf(m, s[t2]);
    m = warp_max(m);
    float sum = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) sum += expf(s[t2] - m);
    const float inv = 1.0f / warp_sum(sum);
    for (int t2 = lane; t2 < T; t2 += 32) att[idx * T + t2] = from_float<floatX>(t2 <= t ? expf(s[t2] - m) * inv : 0.0f);
}
// dpre = att (datt - sum_t2 att datt) scale per row, zeros above the diagonal.
__global__ void attention_v2_softmax_backward_kernel(floatX* dpre, const floatX* att, const float* datt, long rows,
                                                     int T, float scale) {
    const long idx = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (idx >= rows) return;
    const int lane = threadIdx.x % 32, t = (int)(idx % T);
    const floatX* a = att + idx * T;
    const float* d = datt + idx * T;
    float dot = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) dot += to_float(a[t2]) * d[t2];
    dot = warp_sum(dot);
    for (int t2 = lane; t2 < T; t2 += 32)
        dpre[idx * T + t2] = from_float<floatX>(t2 <= t ? to_float(a[t2]) * (d[t2] - dot) * scale : 0.0f);
}

constexpr cudaDataType_t ATT_V2_F32 = CUDA_R_32F;

// scores: fp32 scratch of B*NH*T*T; att: floatX B*NH*T*T (kept for the backward).
inline void attention_v2_forward(floatX* out, floatX* att, float* scores, const floatX* qkv, int B, int T, int C,
                                 int NH, cudaStream_t stream = 0) {
    const int hs = C / NH;
    const long TT = (long)T * T, ld = 3L * C;
    const float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        const floatX* q = qkv + (long)b * T * ld;
        LtBatch heads{NH, hs, hs, TT};
        lt_matmul_general(scores + b * NH * TT, ATT_V2_F32, T, q + C, (int)ld, true, q, (int)ld, false, T, T, hs, scale,
                          0.0f, nullptr, nullptr, heads, stream);
    }
    const long rows = (long)B * NH * T;
    attention_v2_softmax_kernel<<<ceil_div(rows, 8), 256, 0, stream>>>(att, scores, rows, T);
    CUDA_CHECK_LAUNCH();
    for (int b = 0; b < B; b++) {
        const floatX* v = qkv + (long)b * T * ld + 2 * C;
        LtBatch heads{NH, hs, TT, hs};
        lt_matmul_general(out + (long)b * T * C, CUBLAS_FLOATX, C, v, (int)ld, false, att + b * NH * TT, T, false, hs,
                          T, T, 1.0f, 0.0f, nullptr, nullptr, heads, stream);
    }
}

// Accumulates into dqkv. datt: fp32 scratch of B*NH*T*T; dpre: floatX scratch of B*NH*T*T.
inline void attention_v2_backward(floatX* dqkv, float* datt, floatX* dpre, const floatX* dout, const floatX* qkv,
                                  const floatX* att, int B, int T, int C, int NH, cudaStream_t stream = 0) {
    const int hs = C / NH;
    const long TT = (long)T * T, ld = 3L * C;
    for (int b = 0; b < B; b++) {
        const floatX* q = qkv + (long)b * T * ld;
        const floatX* d = dout + (long)b * T * C;
        floatX* dq = dqkv + (long)b * T * ld;
        lt_matmul_general(datt + b * NH * TT, ATT_V2_F32, T, q + 2 * C, (int)ld, true, d, C, false, T, T, hs, 1.0f,
                          0.0f, nullptr, nullptr, LtBatch{NH, hs, hs, TT}, stream);
        lt_matmul_general(dq + 2 * C, CUBLAS_FLOATX, (int)ld, d, C, false, att + b * NH * TT, T, true, hs, T, T, 1.0f,
                          1.0f, nullptr, nullptr, LtBatch{NH, hs, TT, hs}, stream);
    }
    const long rows = (long)B * NH * T;
    attention_v2_softmax_backward_kernel<<<ceil_div(rows, 8), 256, 0, stream>>>(dpre, att, datt, rows, T,
                                                                                1.0f / sqrtf((float)hs));
    CUDA_CHECK_LAUNCH();
    for (int b = 0; b < B; b++) {
        const floatX* q = qkv + (long)b * T * ld;
        floatX* dq = dqkv + (long)b * T * ld;
        const floatX* dp = dpre + b * NH * TT;
        lt_matmul_general(dq, CUBLAS_FLOATX, (int)ld, q + C, (int)ld, false, dp, T, false, hs, T, T, 1.0f, 1.0f,
                          nullptr, nullptr, LtBatch{NH, hs, TT, hs}, stream);
        lt_matmul_general(dq + C, CUBLAS_FLOATX, (int)ld, q, (int)ld, false, dp, T, true, hs, T, T, 1.0f, 1.0f,
                          nullptr, nullptr, LtBatch{NH, hs, TT, hs}, stream);
    }
}
