// v1 of the auxiliary loss (docs/method.md §4), forward (per-row sigma, then S and L_aux)
// and backward: the kernels before issue 12, kept as the lab's baseline (one warp per row,
// scalar 16-bit loads, c = lane + 32 j). The row statistic is ln_forward_v1.cuh's
// ln_row_sd_v1 (the LN site's of the time); the one-block reduction to S and L_aux is
// unchanged: kernels/aux_loss.cuh's aux_reduce_kernel.
// NOLN_LAB_BROKEN_AUX (suite 73's deliberately broken build, which must fail validation):
// the backward leaves out the factor 2 of d(sigma - S)^2 / dsigma.
#pragma once
#include "dev/cuda/ln_forward_v1.cuh"
#include "kernels/aux_loss.cuh"

__global__ void aux_sigma_v1_kernel(float* sigma, const floatX* h, int N, int C) {
    const int lane = threadIdx.x % 32;
    const int row = blockIdx.x * (AUX_THREADS / 32) + threadIdx.x / 32;
    if (row >= N) return;
    float m;
    const float sd = ln_row_sd_v1(h + (long)row * C, C, lane, &m);
    if (lane == 0) sigma[row] = sd;
}

inline void aux_loss_forward_v1(float* sigma, float* out, const floatX* h, const int* inputs, int B, int T, int C,
                                int eot, float lambda) {
    const int N = B * T;
    aux_sigma_v1_kernel<<<ceil_div(N, AUX_THREADS / 32), AUX_THREADS>>>(sigma, h, N, C);
    CUDA_CHECK_LAUNCH();
    aux_reduce_kernel<<<1, 1024>>>(out, sigma, inputs, N, T, eot, lambda);
    CUDA_CHECK_LAUNCH();
}

// dh += dloss * dL/dh / lambda (pass dloss = scale * lambda); S (out[0]) is a constant.
__global__ void aux_backward_v1_kernel(floatX* dh, const floatX* h, const float* sigma, const float* out, float dloss,
                                       int N, int C) {
    const int lane = threadIdx.x % 32;
    const int row = blockIdx.x * (AUX_THREADS / 32) + threadIdx.x / 32;
    if (row >= N) return;
    const floatX* x = h + (long)row * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += to_float(x[c]);
    const float m = warp_sum(s) / C;
    const float sg = sigma[row];
#ifdef NOLN_LAB_BROKEN_AUX
    const float k = dloss * (sg - out[0]) / N / (C * sg);
#else
    const float k = dloss * 2.0f * (sg - out[0]) / N / (C * sg);
#endif
    for (int c = lane; c < C; c += 32) {
        const long i = (long)row * C + c;
        dh[i] = from_float<floatX>(to_float(dh[i]) + k * (to_float(x[c]) - m));
    }
}

inline void aux_loss_backward_v1(floatX* dh, const floatX* h, const float* sigma, const float* out, float dloss, int B,
                                 int T, int C) {
    const int N = B * T;
    aux_backward_v1_kernel<<<ceil_div(N, AUX_THREADS / 32), AUX_THREADS>>>(dh, h, sigma, out, dloss, N, C);
    CUDA_CHECK_LAUNCH();
}
