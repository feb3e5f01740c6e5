// The LayerNorm site, in every state a path can be in (docs/method.md §1-3), in one launch:
//   - optionally the residual add that precedes the LN: x = a + b is stored and normalised;
//   - REAL (per-token rstd = 1/sqrt(var + eps)) or FROZEN (rstd = 1/sigma, with sigma_bos at
//     position 0 and, on ln1v paths, at EOT tokens when those specials are on);
//   - one or two outputs from one read of x: ln_1 feeds Q/K and V through two paths that
//     share gamma/beta but may differ in state (the split), so out2 is the V input;
//   - the sigma observation: per-block partial sums of the per-token std sqrt(var + eps),
//     over all tokens and over position 0, reduced in a fixed order by ln_obs_finish.
// The state is read from device memory (LNPathDev, written by the host when the schedule
// changes it), so a state change needs neither a recompile nor a host-device sync.
// Statistics are fp32 whatever floatX is; mean and rstd are kept (fp32) for the backward.
#pragma once
#include "host/ln_state.h"
#include "kernels/common.cuh"

#define LN_EPS_F 1e-5f

// One path's state as the kernels read it (plain ints and floats: one POD copy per path).
struct LNPathDev {
    int frozen;       // 0 REAL, 1 FROZEN
    float sigma;      // FROZEN divisor
    float sigma_bos;  // FROZEN divisor at position 0 / EOT tokens when a special is on
    int bos_special;  // FROZEN only: position 0 of each sequence uses sigma_bos
    int eot_special;  // FROZEN only: tokens equal to eot_token use sigma_bos (ln1v paths)
    int eot_token;
};

// The host side: the device image of one path of an LNState. Only ln1v paths get the EOT rule.
inline LNPathDev ln_path_dev(const noln::LNPath& p, const noln::LNState& s, bool is_v_path) {
    LNPathDev d;
    d.frozen = p.frozen ? 1 : 0;
    d.sigma = p.sigma;
    d.sigma_bos = p.sigma_bos;
    d.bos_special = s.bos_special ? 1 : 0;
    d.eot_special = (s.eot_special && is_v_path) ? 1 : 0;
    d.eot_token = s.eot_token;
    return d;
}

__device__ inline float ln_path_rstd(const LNPathDev& p, float sd, int row, int T, const int* tokens) {
    if (!p.frozen) return 1.0f / sd;
    float s = p.sigma;
    if (p.bos_special && row % T == 0) s = p.sigma_bos;
    if (p.eot_special && tokens && tokens[row] == p.eot_token) s = p.sigma_bos;
    return 1.0f / s;
}

constexpr int LN_FWD_THREADS = 256;  // 8 warps, one row each
constexpr int LN_ROWS_PER_BLOCK = LN_FWD_THREADS / 32;
inline int ln_forward_blocks(int N) { return ceil_div(N, LN_ROWS_PER_BLOCK); }

// obs_partial gets 2 floats per block: sum of sd over the block's rows, and over its
// position-0 rows. p2/out2/rstd2 nullptr: one path. resid_b nullptr: x = resid_a.
__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_forward_kernel(floatX* out1, float* rstd1, const LNPathDev* p1, floatX* out2, float* rstd2,
                       const LNPathDev* p2, float* mean, floatX* resid_out, const floatX* resid_a,
                       const floatX* resid_b, const floatX* w, const floatX* b, const int* tokens,
                       float* obs_partial, int N, int T, int C) {
    __shared__ float row_sd[LN_ROWS_PER_BLOCK];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * LN_ROWS_PER_BLOCK + warp;
    float sd = 0.0f;
    if (row < N) {  // no early return: the whole block meets at the barrier below
        const long base = (long)row * C;
        const floatX* x = resid_a + base;
        if (resid_b) {
            // The sum is rounded to floatX before the statistics, exactly as stored.
            for (int c = lane; c < C; c += 32)
                resid_out[base + c] = from_float<floatX>(to_float(resid_a[base + c]) + to_float(resid_b[base + c]));
            x = resid_out + base;  // each lane re-reads only what it wrote itself
        }
        float s = 0.0f;
        for (int c = lane; c < C; c += 32) s += to_float(x[c]);
        const float m = warp_sum(s) / C;
        float v = 0.0f;
        for (int c = lane; c < C; c += 32) {
            const float d = to_float(x[c]) - m;
            v += d * d;
        }
        sd = sqrtf(warp_sum(v) / C + LN_EPS_F);
        const float r1 = ln_path_rstd(*p1, sd, row, T, tokens);
        const float r2 = out2 ? ln_path_rstd(*p2, sd, row, T, tokens) : 0.0f;
        for (int c = lane; c < C; c += 32) {
            const float xm = to_float(x[c]) - m, wc = to_float(w[c]), bc = to_float(b[c]);
            out1[base + c] = from_float<floatX>(xm * r1 * wc + bc);
            if (out2) out2[base + c] = from_float<floatX>(xm * r2 * wc + bc);
        }
        if (lane == 0) {
            mean[row] = m;
            rstd1[row] = r1;
            if (out2) rstd2[row] = r2;
        }
    }
    if (lane == 0) row_sd[warp] = sd;
    __syncthreads();
    if (threadIdx.x == 0) {
        float all = 0.0f, bos = 0.0f;
        for (int k = 0; k < LN_ROWS_PER_BLOCK; k++) {
            const int r = blockIdx.x * LN_ROWS_PER_BLOCK + k;
            if (r >= N) break;
            all += row_sd[k];
            if (r % T == 0) bos += row_sd[k];
        }
        obs_partial[2 * blockIdx.x] = all;
        obs_partial[2 * blockIdx.x + 1] = bos;
    }
}

// obs[0] = mean sd over all N tokens, obs[1] = mean over the N/T position-0 tokens.
__global__ void ln_obs_finish_kernel(float* obs, const float* obs_partial, int nblocks, int N, int T) {
    float all = 0.0f, bos = 0.0f;
    for (int i = threadIdx.x; i < nblocks; i += blockDim.x) {
        all += obs_partial[2 * i];
        bos += obs_partial[2 * i + 1];
    }
    all = block_sum(all);
    bos = block_sum(bos);
    if (threadIdx.x == 0) {
        obs[0] = all / N;
        obs[1] = bos / (N / T);
    }
}

// One LN site. obs_partial: scratch of 2 * ln_forward_blocks(N) floats; obs: 2 floats
// (nullptr: no observation). tokens may be nullptr when no EOT rule can apply.
inline void ln_path_forward(floatX* out1, float* rstd1, const LNPathDev* p1, floatX* out2, float* rstd2,
                            const LNPathDev* p2, float* mean, floatX* resid_out, const floatX* resid_a,
                            const floatX* resid_b, const floatX* w, const floatX* b, const int* tokens,
                            float* obs_partial, float* obs, int N, int T, int C,
                            cudaStream_t stream = 0) {
    const int blocks = ln_forward_blocks(N);
    ln_path_forward_kernel<<<blocks, LN_FWD_THREADS, 0, stream>>>(out1, rstd1, p1, out2, rstd2, p2, mean,
                                                                 resid_out, resid_a, resid_b, w, b, tokens,
                                                                 obs_partial, N, T, C);
    CUDA_CHECK_LAUNCH();
    if (obs) {
        ln_obs_finish_kernel<<<1, 256, 0, stream>>>(obs, obs_partial, blocks, N, T);
        CUDA_CHECK_LAUNCH();
    }
}

// ---- backward. With g = w * dy and xhat = (x - mean) * rstd, per path:
//   REAL:   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   FROZEN: dx = rstd * (g - mean(g))
// summed over the one or two paths, accumulated into dinp (the residual stream's gradient).
// dgamma/dbeta sum both paths; they are reduced column-wise in fixed row chunks (no
// atomics, so bitwise reproducible) and added to dw/db by a last small kernel.
__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_backward_dx_kernel(floatX* dinp, const floatX* dout1, const float* rstd1, const LNPathDev* p1,
                           const floatX* dout2, const float* rstd2, const LNPathDev* p2,
                           const floatX* inp, const float* mean, const floatX* w, int N, int C) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * LN_ROWS_PER_BLOCK + warp;
    if (row >= N) return;  // whole warps leave together; no block barrier follows
    const long base = (long)row * C;
    const float m = mean[row], r1 = rstd1[row], r2 = dout2 ? rstd2[row] : 0.0f;
    float g1 = 0.0f, gx1 = 0.0f, g2 = 0.0f, gx2 = 0.0f;
    for (int c = lane; c < C; c += 32) {
        const float wc = to_float(w[c]), xm = to_float(inp[base + c]) - m;
        const float a = wc * to_float(dout1[base + c]);
        g1 += a;
        gx1 += a * xm * r1;
        if (dout2) {
            const float a2 = wc * to_float(dout2[base + c]);
            g2 += a2;
            gx2 += a2 * xm * r2;
        }
    }
    g1 = warp_sum(g1) / C;
    gx1 = p1->frozen ? 0.0f : warp_sum(gx1) / C;
    if (dout2) {
        g2 = warp_sum(g2) / C;
        gx2 = p2->frozen ? 0.0f : warp_sum(gx2) / C;
    }
    for (int c = lane; c < C; c += 32) {
        const float wc = to_float(w[c]), xm = to_float(inp[base + c]) - m;
        float dx = r1 * (wc * to_float(dout1[base + c]) - g1 - xm * r1 * gx1);
        if (dout2) dx += r2 * (wc * to_float(dout2[base + c]) - g2 - xm * r2 * gx2);
        dinp[base + c] = from_float<floatX>(to_float(dinp[base + c]) + dx);
    }
}

constexpr int LN_BWD_ROWS = 32;  // rows per column-partial chunk
inline int ln_backward_chunks(int N) { return ceil_div(N, LN_BWD_ROWS); }
// fp32 scratch the backward needs: dgamma and dbeta partials per chunk.
inline size_t ln_backward_scratch_floats(int N, int C) { return 2 * (size_t)ln_backward_chunks(N) * C; }

__global__ void ln_path_backward_dwdb_kernel(float* part, const floatX* dout1, const float* rstd1,
                                             const floatX* dout2, const float* rstd2, const floatX* inp,
                                             const float* mean, int N, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int chunk = blockIdx.y;
    if (c >= C) return;
    float sw = 0.0f, sb = 0.0f;
    const int end = min(N, (chunk + 1) * LN_BWD_ROWS);
    for (int row = chunk * LN_BWD_ROWS; row < end; row++) {
        const long i = (long)row * C + c;
        const float xm = to_float(inp[i]) - mean[row];
        const float d1 = to_float(dout1[i]);
        sw += d1 * xm * rstd1[row];
        sb += d1;
        if (dout2) {
            const float d2 = to_float(dout2[i]);
            sw += d2 * xm * rstd2[row];
            sb += d2;
        }
    }
    part[(size_t)chunk * C + c] = sw;
    part[((size_t)gridDim.y + chunk) * C + c] = sb;
}

__global__ void ln_path_backward_finish_kernel(floatX* dw, floatX* db, const float* part, int chunks, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float sw = 0.0f, sb = 0.0f;
    for (int k = 0; k < chunks; k++) {
        sw += part[(size_t)k * C + c];
        sb += part[((size_t)chunks + k) * C + c];
    }
    dw[c] = from_float<floatX>(to_float(dw[c]) + sw);
    db[c] = from_float<floatX>(to_float(db[c]) + sb);
}

// Accumulates into dinp, dw, db. dout2/rstd2/p2 nullptr: one path. scratch holds
// ln_backward_scratch_floats(N, C) floats.
inline void ln_path_backward(floatX* dinp, floatX* dw, floatX* db, const floatX* dout1, const float* rstd1,
                             const LNPathDev* p1, const floatX* dout2, const float* rstd2,
                             const LNPathDev* p2, const floatX* inp, const float* mean, const floatX* w,
                             float* scratch, int N, int C, cudaStream_t stream = 0) {
    ln_path_backward_dx_kernel<<<ln_forward_blocks(N), LN_FWD_THREADS, 0, stream>>>(
        dinp, dout1, rstd1, p1, dout2, rstd2, p2, inp, mean, w, N, C);
    CUDA_CHECK_LAUNCH();
    const int chunks = ln_backward_chunks(N), block = 128;
    dim3 grid(ceil_div(C, block), chunks);
    ln_path_backward_dwdb_kernel<<<grid, block, 0, stream>>>(scratch, dout1, rstd1, dout2, rstd2, inp, mean, N, C);
    CUDA_CHECK_LAUNCH();
    ln_path_backward_finish_kernel<<<ceil_div(C, block), block, 0, stream>>>(dw, db, scratch, chunks, C);
    CUDA_CHECK_LAUNCH();
}
