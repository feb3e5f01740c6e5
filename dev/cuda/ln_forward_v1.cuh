// v1 of the LN site's forward: the trainer's kernel before issue 12, kept as the lab's
// baseline (one warp per row, scalar 16-bit loads and stores, c = lane + 32 j).
#pragma once
#include "kernels/ln_path.cuh"

__device__ inline float ln_row_sd_v1(const floatX* x, int C, int lane, float* mean) {
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += to_float(x[c]);
    const float m = warp_sum(s) / C;
    float v = 0.0f;
    for (int c = lane; c < C; c += 32) {
        const float d = to_float(x[c]) - m;
        v += d * d;
    }
    *mean = m;
    return sqrtf(warp_sum(v) / C + (float)noln::LN_EPS);
}

__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_forward_v1_kernel(const LNSiteForward a) {
    const int N = a.N, T = a.T, C = a.C;
    __shared__ float row_sd[LN_ROWS_PER_BLOCK];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * LN_ROWS_PER_BLOCK + warp;
    float sd = 0.0f;
    if (row < N) {  // no early return: the whole block meets at the barrier below
        const long base = (long)row * C;
        const floatX* x = a.x + base;
        if (a.resid_b) {
            // The sum is rounded to floatX before the statistics, exactly as stored.
            for (int c = lane; c < C; c += 32)
                a.resid_out[base + c] = from_float<floatX>(to_float(a.x[base + c]) + to_float(a.resid_b[base + c]));
            x = a.resid_out + base;  // each lane re-reads only what it wrote itself
        }
        float m;
        sd = ln_row_sd_v1(x, C, lane, &m);
        floatX *out1 = a.p1.out, *out2 = a.p2.out;
        const float r1 = ln_path_rstd(*a.p1.state, sd, row, T, a.tokens);
        const float r2 = out2 ? ln_path_rstd(*a.p2.state, sd, row, T, a.tokens) : 0.0f;
        for (int c = lane; c < C; c += 32) {
            const float xm = to_float(x[c]) - m, wc = to_float(a.w[c]), bc = to_float(a.b[c]);
            out1[base + c] = from_float<floatX>(xm * r1 * wc + bc);
            if (out2) out2[base + c] = from_float<floatX>(xm * r2 * wc + bc);
        }
        if (lane == 0) {
            a.mean[row] = m;
            a.p1.rstd[row] = r1;
            if (out2) a.p2.rstd[row] = r2;
        }
    }
    if (lane == 0) row_sd[warp] = sd;
    __syncthreads();
    if (threadIdx.x == 0) ln_obs_block_partial(a.obs_partial, row_sd, N, T);  // unchanged by issue 12
}

inline void ln_forward_v1(const LNSiteForward& a) {
    ln_path_forward_v1_kernel<<<ln_forward_blocks(a.N), LN_FWD_THREADS>>>(a);
    CUDA_CHECK_LAUNCH();
    if (a.obs) {
        ln_obs_finish_kernel<<<1, 256>>>(a.obs, a.obs_partial, ln_forward_blocks(a.N), a.N, a.T);
        CUDA_CHECK_LAUNCH();
    }
}
