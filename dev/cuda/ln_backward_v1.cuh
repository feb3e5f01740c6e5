// v1 of the LN site's backward: the trainer's kernels before issue 12, kept as the lab's
// baseline (one warp per row for dx, one thread per column for the dgamma/dbeta partials,
// scalar 16-bit loads and stores). dx is always accumulated into (LNSiteBackward's
// dx_overwrite did not exist; v1 ignores it). The last kernel, adding the column partials
// to dw and db, is unchanged: kernels/ln_path.cuh's ln_path_backward_finish_kernel.
#pragma once
#include "kernels/ln_path.cuh"

__global__ void __launch_bounds__(LN_FWD_THREADS)
ln_path_backward_dx_v1_kernel(const LNSiteBackward a) {
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

__global__ void ln_path_backward_dwdb_v1_kernel(float* part, const floatX* dout1, const float* rstd1,
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

// Accumulates into dx, dw, db.
inline void ln_path_backward_v1(const LNSiteBackward& a) {
    const int N = a.N, C = a.C;
    ln_path_backward_dx_v1_kernel<<<ln_forward_blocks(N), LN_FWD_THREADS>>>(a);
    CUDA_CHECK_LAUNCH();
    const int chunks = ln_backward_chunks(N), block = 128;
    ln_path_backward_dwdb_v1_kernel<<<dim3(ceil_div(C, block), chunks), block>>>(a.scratch, a.p1.dout, a.p1.rstd,
                                                                                 a.p2.dout, a.p2.rstd, a.x, a.mean, N, C);
    CUDA_CHECK_LAUNCH();
    ln_path_backward_finish_kernel<<<ceil_div(C, block), block>>>(a.dw, a.db, a.scratch, chunks, C);
    CUDA_CHECK_LAUNCH();
}
