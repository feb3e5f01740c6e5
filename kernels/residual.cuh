// Residual add out = a + b, and its backward (the gradient reaches both inputs unchanged).
// The residual add before each LayerNorm is fused into kernels/ln_path.cuh; this one is
// for the rest. Each thread moves one 16-byte vector when every pointer is aligned.
#pragma once
#include "kernels/common.cuh"

__global__ void residual_forward_kernel(floatX* out, const floatX* a, const floatX* b, long N,
                                        bool vec) {
    constexpr int S = Vec128<floatX>::size;
    const long i = ((long)blockIdx.x * blockDim.x + threadIdx.x) * S;
    if (i >= N) return;
    if (vec && i + S <= N) {
        Vec128<floatX> x = load_vec(a + i), y = load_vec(b + i), o;
        for (int k = 0; k < S; k++) o.set(k, x.get(k) + y.get(k));
        store_vec(out + i, o);
    } else {
        for (long j = i; j < N && j < i + S; j++) out[j] = from_float<floatX>(to_float(a[j]) + to_float(b[j]));
    }
}

inline void residual_forward(floatX* out, const floatX* a, const floatX* b, long N,
                             cudaStream_t stream = 0) {
    const int block = 256;
    const bool vec = is_aligned16(out) && is_aligned16(a) && is_aligned16(b);
    residual_forward_kernel<<<ceil_div(ceil_div(N, Vec128<floatX>::size), block), block, 0, stream>>>(
        out, a, b, N, vec);
    CUDA_CHECK_LAUNCH();
}

// Accumulates dout into da and db (either may be nullptr); one 16-byte chunk per thread.
__global__ void residual_backward_kernel(floatX* da, floatX* db, const floatX* dout, long N, bool vec) {
    constexpr int S = Vec128<floatX>::size;
    const long i = ((long)blockIdx.x * blockDim.x + threadIdx.x) * S;
    if (i >= N) return;
    const Vec128<floatX> d = load_chunk_cs(dout, i, N, vec);
    floatX* const outs[2] = {da, db};
    for (int j = 0; j < 2; j++) {
        floatX* p = outs[j];
        if (!p) continue;
        Vec128<floatX> o = load_chunk(p, i, N, vec);
        for (int k = 0; k < S; k++) o.set(k, o.get(k) + d.get(k));
        store_chunk(p, i, N, vec, o);
    }
}

inline void residual_backward(floatX* da, floatX* db, const floatX* dout, long N,
                              cudaStream_t stream = 0) {
    const int block = 256;
    const bool vec = rows_vec_ok(da, 0) && rows_vec_ok(db, 0) && rows_vec_ok(dout, 0);
    residual_backward_kernel<<<ceil_div(ceil_div(N, Vec128<floatX>::size), block), block, 0, stream>>>(
        da, db, dout, N, vec);
    CUDA_CHECK_LAUNCH();
}
