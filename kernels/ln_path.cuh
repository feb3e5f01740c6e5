// The LayerNorm site, in every state a path can be in (docs/method.md §1-3), in one launch:
//   - optionally the residual add that precedes the LN: x = a + b is stored and normalised;
//   - REAL (per-token rstd = 1/sqrt(var + eps)) or FROZEN (rstd = 1/ln_frozen_divisor: sigma,
//     or sigma_bos at position 0 / EOT tokens when those specials are on; host/ln_paths.h);
//   - one or two outputs from one read of x: ln_1 feeds Q/K and V through two paths that
//     share gamma/beta but may differ in state (the split), so the second output is the V input;
//   - the sigma observation: per-block partial sums of the per-token std sqrt(var + eps),
//     over all tokens and over position 0, reduced in a fixed order by ln_obs_finish.
// The state is read from device memory (LNPathParams, written by the host when the schedule
// changes it), so a state change needs neither a recompile nor a host-device sync.
// Statistics are fp32 whatever floatX is; mean and rstd are kept (fp32) for the backward.
#pragma once
#include "host/ln_paths.h"
#include "kernels/common.cuh"

using noln::LNPathParams;

// One path of a site: where its output and its per-token rstd go, and its state (device
// memory). out == nullptr: the path is not computed (a site with one path).
struct LNPathOut {
    floatX* out = nullptr;
    float* rstd = nullptr;
    const LNPathParams* state = nullptr;
};

// Everything one LN site's forward reads and writes (rows N = B*T of C channels).
struct LNSiteForward {
    LNPathOut p1, p2;                   // p2.out == nullptr: one path
    float* mean = nullptr;              // N: the row means, for the backward
    const floatX* x = nullptr;          // the input; with resid_b, the first addend
    const floatX* resid_b = nullptr;    // nullptr: normalise x; else x + resid_b, ...
    floatX* resid_out = nullptr;        // ... which is stored here (rounded to floatX) first
    const floatX *w = nullptr, *b = nullptr;  // gamma, beta (C)
    const int* tokens = nullptr;        // N input ids; nullptr when no EOT rule can apply
    float* obs_partial = nullptr;       // scratch, 2 * ln_forward_blocks(N) floats
    float* obs = nullptr;               // 2 floats (SiteObs); nullptr: no observation
    int N = 0, T = 0, C = 0;
};

// One warp's statistics of one row of C values (every lane gets both): the mean, and the
// sd = sqrt(var + LN_EPS) (population variance) that REAL paths divide by and that the
// sigma observations and the aux loss average. fp32 whatever floatX is.
__device__ inline float ln_row_sd(const floatX* x, int C, int lane, float* mean) {
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

__device__ inline float ln_path_rstd(const LNPathParams& p, float sd, int row, int T, const int* tokens) {
    if (!p.frozen) return 1.0f / sd;
    return 1.0f / noln::ln_frozen_divisor(p, row % T, tokens ? tokens[row] : -1);
}

constexpr int LN_FWD_THREADS = 256;  // 8 warps, one row each
constexpr int LN_ROWS_PER_BLOCK = LN_FWD_THREADS / 32;
inline int ln_forward_blocks(int N) { return ceil_div(N, LN_ROWS_PER_BLOCK); }

// obs_partial gets 2 floats per block: sum of sd over the block's rows, and over its
// position-0 rows.
__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_forward_kernel(const LNSiteForward a) {
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
        sd = ln_row_sd(x, C, lane, &m);
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
    if (threadIdx.x == 0) {
        float all = 0.0f, bos = 0.0f;
        for (int k = 0; k < LN_ROWS_PER_BLOCK; k++) {
            const int r = blockIdx.x * LN_ROWS_PER_BLOCK + k;
            if (r >= N) break;
            all += row_sd[k];
            if (r % T == 0) bos += row_sd[k];
        }
        a.obs_partial[2 * blockIdx.x] = all;
        a.obs_partial[2 * blockIdx.x + 1] = bos;
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

// One LN site (see LNSiteForward).
inline void ln_path_forward(const LNSiteForward& a, cudaStream_t stream = 0) {
    const int blocks = ln_forward_blocks(a.N);
    ln_path_forward_kernel<<<blocks, LN_FWD_THREADS, 0, stream>>>(a);
    CUDA_CHECK_LAUNCH();
    if (a.obs) {
        ln_obs_finish_kernel<<<1, 256, 0, stream>>>(a.obs, a.obs_partial, blocks, a.N, a.T);
        CUDA_CHECK_LAUNCH();
    }
}

// ---- backward ----

// One path's backward inputs: the gradient of its output, its rstd and state from the forward.
struct LNPathGrad {
    const floatX* dout = nullptr;  // nullptr: the path was not computed
    const float* rstd = nullptr;
    const LNPathParams* state = nullptr;
};

// Everything one LN site's backward reads and accumulates into.
struct LNSiteBackward {
    LNPathGrad p1, p2;                     // p2.dout == nullptr: one path
    floatX *dx = nullptr, *dw = nullptr, *db = nullptr;  // accumulated into
    const floatX* x = nullptr;             // the input the forward normalised
    const float* mean = nullptr;           // the forward's row means
    const floatX* w = nullptr;             // gamma
    float* scratch = nullptr;              // ln_backward_scratch_floats(N, C) floats
    int N = 0, C = 0;
};

// The backward arguments that follow from a site's forward arguments f: the input it
// normalised (the residual sum when one was formed), its means, gamma, shape, and each
// path's rstd and state. The caller adds the output gradients (p1.dout, and p2.dout when
// f had two paths) and where dx, dw, db and the scratch are.
inline LNSiteBackward ln_site_backward(const LNSiteForward& f) {
    LNSiteBackward g;
    g.p1 = {nullptr, f.p1.rstd, f.p1.state};
    if (f.p2.out) g.p2 = {nullptr, f.p2.rstd, f.p2.state};
    g.x = f.resid_b ? f.resid_out : f.x;
    g.mean = f.mean;
    g.w = f.w;
    g.N = f.N;
    g.C = f.C;
    return g;
}

// With g = w * dy and xhat = (x - mean) * rstd, per path:
//   REAL:   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   FROZEN: dx = rstd * (g - mean(g))
// summed over the one or two paths, accumulated into dx (the residual stream's gradient).
// dgamma/dbeta sum both paths; they are reduced column-wise in fixed row chunks (no
// atomics, so bitwise reproducible) and added to dw/db by a last small kernel.
__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_backward_dx_kernel(const LNSiteBackward a) {
    const int N = a.N, C = a.C;
    const floatX *dout1 = a.p1.dout, *dout2 = a.p2.dout, *inp = a.x, *w = a.w;
    const float *rstd1 = a.p1.rstd, *rstd2 = a.p2.rstd;
    floatX* dinp = a.dx;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * LN_ROWS_PER_BLOCK + warp;
    if (row >= N) return;  // whole warps leave together; no block barrier follows
    const long base = (long)row * C;
    const float m = a.mean[row], r1 = rstd1[row], r2 = dout2 ? rstd2[row] : 0.0f;
    float g1 = 0.0f, gx1 = 0.0f, g2 = 0.0f, gx2 = 0.0f;
    for (int c = lane; c < C; c += 32) {
        const float wc = to_float(w[c]), xm = to_float(inp[base + c]) - m;
        const float ga = wc * to_float(dout1[base + c]);
        g1 += ga;
        gx1 += ga * xm * r1;
        if (dout2) {
            const float a2 = wc * to_float(dout2[base + c]);
            g2 += a2;
            gx2 += a2 * xm * r2;
        }
    }
    g1 = warp_sum(g1) / C;
    gx1 = a.p1.state->frozen ? 0.0f : warp_sum(gx1) / C;
    if (dout2) {
        g2 = warp_sum(g2) / C;
        gx2 = a.p2.state->frozen ? 0.0f : warp_sum(gx2) / C;
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

// Accumulates into dx, dw, db (see LNSiteBackward).
inline void ln_path_backward(const LNSiteBackward& a, cudaStream_t stream = 0) {
    const int N = a.N, C = a.C;
    ln_path_backward_dx_kernel<<<ln_forward_blocks(N), LN_FWD_THREADS, 0, stream>>>(a);
    CUDA_CHECK_LAUNCH();
    const int chunks = ln_backward_chunks(N), block = 128;
    dim3 grid(ceil_div(C, block), chunks);
    ln_path_backward_dwdb_kernel<<<grid, block, 0, stream>>>(a.scratch, a.p1.dout, a.p1.rstd, a.p2.dout, a.p2.rstd,
                                                              a.x, a.mean, N, C);
    CUDA_CHECK_LAUNCH();
    ln_path_backward_finish_kernel<<<ceil_div(C, block), block, 0, stream>>>(a.dw, a.db, a.scratch, chunks, C);
    CUDA_CHECK_LAUNCH();
}
