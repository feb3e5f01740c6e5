// The LayerNorm site, in every state a path can be in (docs/method.md §1-3), in one launch:
//   - optionally the residual add that precedes the LN: x = a + b is stored and normalised;
//   - REAL (per-token rstd = 1/sqrt(var + eps)) or FROZEN (rstd = 1/ln_frozen_divisor: sigma,
//     or sigma_bos at position 0 / EOT tokens when those specials are on; host/ln_paths.h);
//   - one or two outputs from one read of x: ln_1 feeds Q/K and V through two paths that
//     share gamma/beta but may differ in state (the split), so the second output is the V input;
//   - the sigma observation: per-block partial sums of the per-token std sqrt(var + eps),
//     over all tokens and over position 0, reduced in a fixed order by ln_obs_finish.
// And the recompute (-r 2, ln_path_recompute): the outputs again from what the forward kept.
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

// Rows are walked in 16-byte chunks (common.cuh): lane `lane` takes chunks lane, lane + 32,
// ..., 128-bit accesses when `vec`, element by element otherwise, same order either way.
constexpr int LN_S = Vec128<floatX>::size;
#define LN_FOR_CHUNKS(c0, C, lane) for (int c0 = (lane) * LN_S; c0 < (C); c0 += 32 * LN_S)

// One warp's statistics of one row of C values (every lane gets both): the mean, and the
// sd = sqrt(var + LN_EPS) (population variance) that REAL paths divide by and that the
// sigma observations and the aux loss average. fp32 whatever floatX is.
__device__ inline float ln_row_sd(const floatX* x, int C, int lane, bool vec, float* mean) {
    float s = 0.0f;
    LN_FOR_CHUNKS(c0, C, lane) {
        const Vec128<floatX> v = load_chunk(x, c0, C, vec);
        for (int k = 0; k < LN_S; k++) s += v.get(k);  // the zero padding adds nothing
    }
    const float m = warp_sum(s) / C;
    float var = 0.0f;
    LN_FOR_CHUNKS(c0, C, lane) {
        const Vec128<floatX> v = load_chunk(x, c0, C, vec);
        for (int k = 0; k < LN_S && c0 + k < C; k++) {
            const float d = v.get(k) - m;
            var += d * d;
        }
    }
    *mean = m;
    return sqrtf(warp_sum(var) / C + (float)noln::LN_EPS);
}

__device__ inline float ln_path_rstd(const LNPathParams& p, float sd, int row, int T, const int* tokens) {
    if (!p.frozen) return 1.0f / sd;
    return 1.0f / noln::ln_frozen_divisor(p, row % T, tokens ? tokens[row] : -1);
}

// One warp writes row `row` (at `base` = row*C) of each path's output from the row x it
// normalised, its mean m and each path's rstd r_p:  out_p = (x - m) * r_p * gamma + beta,
// rounded to floatX. The one copy of this arithmetic: the forward and the recompute both
// call it, so the recomputed outputs are the forward's bit for bit.
__device__ inline void ln_row_outputs(const LNSiteForward& a, const floatX* x, long base, float m, float r1, float r2,
                                      int lane, bool vec) {
    const int C = a.C;
    floatX *out1 = a.p1.out, *out2 = a.p2.out;
    LN_FOR_CHUNKS(c0, C, lane) {
        const Vec128<floatX> xv = load_chunk(x, c0, C, vec), wv = load_chunk(a.w, c0, C, vec),
                             bv = load_chunk(a.b, c0, C, vec);
        Vec128<floatX> o1, o2;
        for (int k = 0; k < LN_S; k++) {
            const float xm = xv.get(k) - m, wc = wv.get(k), bc = bv.get(k);
            o1.set(k, xm * r1 * wc + bc);
            if (out2) o2.set(k, xm * r2 * wc + bc);
        }
        store_chunk(out1 + base, c0, C, vec, o1);
        if (out2) store_chunk(out2 + base, c0, C, vec, o2);
    }
}

constexpr int LN_FWD_THREADS = 256;  // 8 warps, one row each
constexpr int LN_ROWS_PER_BLOCK = LN_FWD_THREADS / 32;
inline int ln_forward_blocks(int N) { return ceil_div(N, LN_ROWS_PER_BLOCK); }

// Thread 0 of a forward block, after the barrier: the block's sums of its rows' standard
// deviations, over all its rows and over its position-0 rows (r % T == 0), into
// obs_partial[2 block] and [2 block + 1] (ln_obs_finish_kernel adds up the blocks').
__device__ inline void ln_obs_block_partial(float* obs_partial, const float* row_sd, int N, int T) {
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

// obs_partial gets 2 floats per block: sum of sd over the block's rows, and over its
// position-0 rows.
__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_forward_kernel(const LNSiteForward a, bool vec) {
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
            LN_FOR_CHUNKS(c0, C, lane) {
                const Vec128<floatX> u = load_chunk_cs(a.x + base, c0, C, vec),
                                     w = load_chunk_cs(a.resid_b + base, c0, C, vec);
                Vec128<floatX> o;
                for (int k = 0; k < LN_S; k++) o.set(k, u.get(k) + w.get(k));
                store_chunk(a.resid_out + base, c0, C, vec, o);
            }
            x = a.resid_out + base;  // each lane re-reads only what it wrote itself
        }
        float m;
        sd = ln_row_sd(x, C, lane, vec, &m);
        const float r1 = ln_path_rstd(*a.p1.state, sd, row, T, a.tokens);
        const float r2 = a.p2.out ? ln_path_rstd(*a.p2.state, sd, row, T, a.tokens) : 0.0f;
        ln_row_outputs(a, x, base, m, r1, r2, lane, vec);
        if (lane == 0) {
            a.mean[row] = m;
            a.p1.rstd[row] = r1;
            if (a.p2.out) a.p2.rstd[row] = r2;
        }
    }
    if (lane == 0) row_sd[warp] = sd;
    __syncthreads();
    if (threadIdx.x == 0) ln_obs_block_partial(a.obs_partial, row_sd, N, T);
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
    const bool vec = rows_vec_ok(a.x, a.C) && rows_vec_ok(a.resid_b, a.C) && rows_vec_ok(a.resid_out, a.C) &&
                     rows_vec_ok(a.p1.out, a.C) && rows_vec_ok(a.p2.out, a.C) && rows_vec_ok(a.w, a.C) &&
                     rows_vec_ok(a.b, a.C);
    ln_path_forward_kernel<<<blocks, LN_FWD_THREADS, 0, stream>>>(a, vec);
    CUDA_CHECK_LAUNCH();
    if (a.obs) {
        ln_obs_finish_kernel<<<1, 256, 0, stream>>>(a.obs, a.obs_partial, blocks, a.N, a.T);
        CUDA_CHECK_LAUNCH();
    }
}

// ---- recompute (-r 2) ----

// The site's outputs again, for the backward's weight gradients, from what the forward kept
// (the same LNSiteForward): the input it normalised (with resid_b, the sum it stored in
// resid_out, read back, never re-added), its row means and each path's rstd (REAL:
// 1/sqrt(var + eps); FROZEN: 1/divisor, so the path states are not read again):
//   out_p = (x - mean) * rstd_p * gamma + beta       (ln_row_outputs, as the forward)
// Writes p1.out (and p2.out) only: no residual, statistics or sigma observation.
__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_recompute_kernel(const LNSiteForward a, bool vec) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * LN_ROWS_PER_BLOCK + warp;
    if (row >= a.N) return;  // whole warps leave together; no block barrier follows
    const long base = (long)row * a.C;
    const floatX* x = (a.resid_b ? a.resid_out : a.x) + base;
    ln_row_outputs(a, x, base, a.mean[row], a.p1.rstd[row], a.p2.out ? a.p2.rstd[row] : 0.0f, lane, vec);
}

inline void ln_path_recompute(const LNSiteForward& a, cudaStream_t stream = 0) {
    const floatX* x = a.resid_b ? a.resid_out : a.x;
    const bool vec = rows_vec_ok(x, a.C) && rows_vec_ok(a.p1.out, a.C) && rows_vec_ok(a.p2.out, a.C) &&
                     rows_vec_ok(a.w, a.C) && rows_vec_ok(a.b, a.C);
    ln_path_recompute_kernel<<<ln_forward_blocks(a.N), LN_FWD_THREADS, 0, stream>>>(a, vec);
    CUDA_CHECK_LAUNCH();
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
    floatX *dx = nullptr, *dw = nullptr, *db = nullptr;  // accumulated into (dw, db always)
    bool dx_overwrite = false;             // true: dx is written, not added to (first write)
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
ln_path_backward_dx_kernel(const LNSiteBackward a, bool vec) {
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
    LN_FOR_CHUNKS(c0, C, lane) {
        const Vec128<floatX> wv = load_chunk(w, c0, C, vec), xv = load_chunk(inp + base, c0, C, vec),
                             d1 = load_chunk(dout1 + base, c0, C, vec);
        Vec128<floatX> d2;
        if (dout2) d2 = load_chunk(dout2 + base, c0, C, vec);
        for (int k = 0; k < LN_S && c0 + k < C; k++) {
            const float wc = wv.get(k), xm = xv.get(k) - m;
            const float ga = wc * d1.get(k);
            g1 += ga;
            gx1 += ga * xm * r1;
            if (dout2) {
                const float a2 = wc * d2.get(k);
                g2 += a2;
                gx2 += a2 * xm * r2;
            }
        }
    }
    g1 = warp_sum(g1) / C;
    gx1 = a.p1.state->frozen ? 0.0f : warp_sum(gx1) / C;
    if (dout2) {
        g2 = warp_sum(g2) / C;
        gx2 = a.p2.state->frozen ? 0.0f : warp_sum(gx2) / C;
    }
    LN_FOR_CHUNKS(c0, C, lane) {
        const Vec128<floatX> wv = load_chunk(w, c0, C, vec), xv = load_chunk(inp + base, c0, C, vec),
                             d1 = load_chunk(dout1 + base, c0, C, vec);
        Vec128<floatX> d2, o;
        if (dout2) d2 = load_chunk(dout2 + base, c0, C, vec);
        if (!a.dx_overwrite) o = load_chunk(dinp + base, c0, C, vec);
        for (int k = 0; k < LN_S; k++) {
            const float wc = wv.get(k), xm = xv.get(k) - m;
            float dx = r1 * (wc * d1.get(k) - g1 - xm * r1 * gx1);
            if (dout2) dx += r2 * (wc * d2.get(k) - g2 - xm * r2 * gx2);
            o.set(k, a.dx_overwrite ? dx : o.get(k) + dx);
        }
        store_chunk(dinp + base, c0, C, vec, o);
    }
}

constexpr int LN_BWD_ROWS = 32;  // rows per column-partial chunk
inline int ln_backward_chunks(int N) { return ceil_div(N, LN_BWD_ROWS); }
// fp32 scratch the backward needs: dgamma and dbeta partials per chunk.
inline size_t ln_backward_scratch_floats(int N, int C) { return 2 * (size_t)ln_backward_chunks(N) * C; }

// One thread per 16-byte chunk of columns (LN_S columns), rows of its chunk in order: each
// column's sums run in the same order as one thread per column would.
__global__ void ln_path_backward_dwdb_kernel(float* part, const floatX* dout1, const float* rstd1,
                                             const floatX* dout2, const float* rstd2, const floatX* inp,
                                             const float* mean, int N, int C, bool vec) {
    const int c0 = (blockIdx.x * blockDim.x + threadIdx.x) * LN_S;
    const int chunk = blockIdx.y;
    if (c0 >= C) return;
    float sw[LN_S], sb[LN_S];
    for (int k = 0; k < LN_S; k++) sw[k] = sb[k] = 0.0f;
    const int end = min(N, (chunk + 1) * LN_BWD_ROWS);
    for (int row = chunk * LN_BWD_ROWS; row < end; row++) {
        const long base = (long)row * C;
        const float mr = mean[row], r1 = rstd1[row], r2 = dout2 ? rstd2[row] : 0.0f;
        // the output gradients' last read: streaming loads
        const Vec128<floatX> xv = load_chunk(inp + base, c0, C, vec), d1 = load_chunk_cs(dout1 + base, c0, C, vec);
        Vec128<floatX> d2;
        if (dout2) d2 = load_chunk_cs(dout2 + base, c0, C, vec);
        for (int k = 0; k < LN_S; k++) {
            const float xm = xv.get(k) - mr;
            sw[k] += d1.get(k) * xm * r1;
            sb[k] += d1.get(k);
            if (dout2) {
                sw[k] += d2.get(k) * xm * r2;
                sb[k] += d2.get(k);
            }
        }
    }
    for (int k = 0; k < LN_S && c0 + k < C; k++) {
        part[(size_t)chunk * C + c0 + k] = sw[k];
        part[((size_t)gridDim.y + chunk) * C + c0 + k] = sb[k];
    }
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

// Accumulates into dx (or writes it: dx_overwrite), dw, db (see LNSiteBackward).
inline void ln_path_backward(const LNSiteBackward& a, cudaStream_t stream = 0) {
    const int N = a.N, C = a.C;
    const bool vec = rows_vec_ok(a.x, C) && rows_vec_ok(a.p1.dout, C) && rows_vec_ok(a.p2.dout, C) &&
                     rows_vec_ok(a.dx, C) && rows_vec_ok(a.w, C);
    ln_path_backward_dx_kernel<<<ln_forward_blocks(N), LN_FWD_THREADS, 0, stream>>>(a, vec);
    CUDA_CHECK_LAUNCH();
    const int chunks = ln_backward_chunks(N), block = 128;
    dim3 grid(ceil_div(ceil_div(C, LN_S), block), chunks);
    ln_path_backward_dwdb_kernel<<<grid, block, 0, stream>>>(a.scratch, a.p1.dout, a.p1.rstd, a.p2.dout, a.p2.rstd,
                                                              a.x, a.mean, N, C, vec);
    CUDA_CHECK_LAUNCH();
    ln_path_backward_finish_kernel<<<ceil_div(C, block), block, 0, stream>>>(a.dw, a.db, a.scratch, chunks, C);
    CUDA_CHECK_LAUNCH();
}
