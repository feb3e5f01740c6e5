// The auxiliary loss of docs/method.md §4 at the ln_f input h (B, T, C), as cpu/aux_loss.h:
//   sigma_t = sqrt(var_t(h) + eps),  S = stopgrad(mean of sigma_t over t > 0 with input != eot)
//   L_aux = lambda * mean over all (b, t) of (sigma_t - S)^2
// (S falls back to the mean over all positions when none qualifies.) The scalar results
// stay on the device (out[0] = S, out[1] = L_aux), so a step needs no extra sync; the
// reduction is one block in a fixed order, so they are bitwise reproducible.
#pragma once
#include "kernels/common.cuh"
#include "kernels/ln_path.cuh"  // ln_row_sd

constexpr int AUX_THREADS = 256;

__global__ void aux_sigma_kernel(float* sigma, const floatX* h, int N, int C, bool vec) {
    const int lane = threadIdx.x % 32;
    const int row = blockIdx.x * (AUX_THREADS / 32) + threadIdx.x / 32;
    if (row >= N) return;
    float m;
    const float sd = ln_row_sd(h + (long)row * C, C, lane, vec, &m);  // the LN site's statistic
    if (lane == 0) sigma[row] = sd;
}

__global__ void aux_reduce_kernel(float* out, const float* sigma, const int* inputs, int N, int T, int eot,
                                  float lambda) {
    float s = 0.0f, n = 0.0f, all = 0.0f;
    for (int i = threadIdx.x; i < N; i += blockDim.x) {
        all += sigma[i];
        if (i % T != 0 && inputs[i] != eot) {
            s += sigma[i];
            n += 1.0f;
        }
    }
    s = block_sum(s);
    n = block_sum(n);
    all = block_sum(all);
    const float S = n > 0.0f ? s / n : all / N;
    float l = 0.0f;
    for (int i = threadIdx.x; i < N; i += blockDim.x) l += (sigma[i] - S) * (sigma[i] - S);
    l = block_sum(l);
    if (threadIdx.x == 0) {
        out[0] = S;
        out[1] = lambda * l / N;
    }
}

// sigma: N floats kept for the backward; out: 2 floats (S, L_aux).
inline void aux_loss_forward(float* sigma, float* out, const floatX* h, const int* inputs, int B, int T, int C,
                             int eot, float lambda, cudaStream_t stream = 0) {
    const int N = B * T;
    aux_sigma_kernel<<<ceil_div(N, AUX_THREADS / 32), AUX_THREADS, 0, stream>>>(sigma, h, N, C, rows_vec_ok(h, C));
    CUDA_CHECK_LAUNCH();
    aux_reduce_kernel<<<1, 1024, 0, stream>>>(out, sigma, inputs, N, T, eot, lambda);
    CUDA_CHECK_LAUNCH();
}

// dh += dloss * dL/dh / lambda, i.e. pass dloss = scale * lambda. S (out[0]) is a constant.
__global__ void aux_backward_kernel(floatX* dh, const floatX* h, const float* sigma, const float* out,
                                    float dloss, int N, int C, bool vec) {
    const int lane = threadIdx.x % 32;
    const int row = blockIdx.x * (AUX_THREADS / 32) + threadIdx.x / 32;
    if (row >= N) return;
    const floatX* x = h + (long)row * C;
    floatX* d = dh + (long)row * C;
    float s = 0.0f;
    LN_FOR_CHUNKS(c0, C, lane) {
        const Vec128<floatX> v = load_chunk(x, c0, C, vec);
        for (int k = 0; k < LN_S; k++) s += v.get(k);
    }
    const float m = warp_sum(s) / C;
    const float sg = sigma[row];
    const float k = dloss * 2.0f * (sg - out[0]) / N / (C * sg);
    LN_FOR_CHUNKS(c0, C, lane) {
        const Vec128<floatX> v = load_chunk(x, c0, C, vec);
        Vec128<floatX> o = load_chunk(d, c0, C, vec);
        for (int j = 0; j < LN_S; j++) o.set(j, o.get(j) + k * (v.get(j) - m));
        store_chunk(d, c0, C, vec, o);
    }
}

inline void aux_loss_backward(floatX* dh, const floatX* h, const float* sigma, const float* out, float dloss,
                              int B, int T, int C, cudaStream_t stream = 0) {
    const int N = B * T;
    aux_backward_kernel<<<ceil_div(N, AUX_THREADS / 32), AUX_THREADS, 0, stream>>>(
        dh, h, sigma, out, dloss, N, C, rows_vec_ok(h, C) && rows_vec_ok(dh, C));
    CUDA_CHECK_LAUNCH();
}
