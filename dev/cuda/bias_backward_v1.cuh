// v1 of the bias gradient (matmul_backward's column sums): the kernel before issue 12, kept
// as the lab's baseline (one thread per column, scalar 16-bit loads, BIAS_BWD_ROWS rows per
// partial). The finish kernel, adding the partials to dbias, is unchanged:
// kernels/matmul.cuh's bias_backward_finish_kernel.
#pragma once
#include "kernels/matmul.cuh"

__global__ void bias_backward_partial_v1_kernel(float* part, const floatX* dout, int ldo, int N, int OUT) {
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= OUT) return;
    float s = 0.0f;
    const int end = min(N, (int)(blockIdx.y + 1) * BIAS_BWD_ROWS);
    for (int n = blockIdx.y * BIAS_BWD_ROWS; n < end; n++) s += to_float(dout[(long)n * ldo + o]);
    part[(size_t)blockIdx.y * OUT + o] = s;
}

// dbias += column sums of dout (N rows of OUT columns, row stride ldo).
inline void bias_backward_v1(floatX* dbias, const floatX* dout, int ldo, float* scratch, int N, int OUT) {
    const int block = 128, chunks = ceil_div(N, BIAS_BWD_ROWS);
    bias_backward_partial_v1_kernel<<<dim3(ceil_div(OUT, block), chunks), block>>>(scratch, dout, ldo, N, OUT);
    CUDA_CHECK_LAUNCH();
    bias_backward_finish_kernel<<<ceil_div(OUT, block), block>>>(dbias, scratch, chunks, OUT);
    CUDA_CHECK_LAUNCH();
}
