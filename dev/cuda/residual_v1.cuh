// v1 of the residual backward: the kernel before issue 12, kept as the lab's baseline (one
// element per thread, scalar 16-bit accesses). The forward was already 128-bit before issue
// 12 and is unchanged: kernels/residual.cuh's residual_forward serves both versions.
#pragma once
#include "kernels/residual.cuh"

// Accumulates dout into da and db (either may be nullptr).
__global__ void residual_backward_v1_kernel(floatX* da, floatX* db, const floatX* dout, long N) {
    const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    const float d = to_float(dout[i]);
    if (da) da[i] = from_float<floatX>(to_float(da[i]) + d);
    if (db) db[i] = from_float<floatX>(to_float(db[i]) + d);
}

inline void residual_backward_v1(floatX* da, floatX* db, const floatX* dout, long N) {
    const int block = 256;
    residual_backward_v1_kernel<<<ceil_div(N, block), block>>>(da, db, dout, N);
    CUDA_CHECK_LAUNCH();
}
