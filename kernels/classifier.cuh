// Fused softmax + cross-entropy (+ dlogits) over the first V of Vp logit columns, in place:
// no probabilities buffer and never a second logits-sized buffer. One block per row.
//   losses[i] = logsumexp(logits[i, :V]) - logits[i, target]     (0 where target < 0)
//   write_dlogits: logits[i, v] <- dloss * (softmax_v - [v == target]), 0 for v >= V and
//   for masked rows; dloss = d(total)/d(each counted token's loss), e.g. scale / ntargets.
// The forward of a training step calls it with write_dlogits = false (the logits stay
// readable) and stores each row's log-sum-exp in `lse`; the backward calls it again with
// write_dlogits = true and lse_ready, so it reads each logit once and writes it once (no
// second reduction pass). Without lse_ready the backward call first reduces the row itself.
// The reduction is one pass too: an online max and rescaled sum per thread, 128-bit reads.
#pragma once
#include "kernels/common.cuh"

constexpr int CLASSIFIER_THREADS = 512;

__global__ void __launch_bounds__(CLASSIFIER_THREADS)
classifier_kernel(float* losses, floatX* logits, const int* targets, float dloss, bool write_dlogits,
                  float* lse, bool lse_ready, int V, int Vp, bool vec) {
    constexpr int S = Vec128<floatX>::size;
    const long row = blockIdx.x;
    floatX* l = logits + row * Vp;
    const int tg = targets ? targets[row] : -1;
    // read before any thread of the block may overwrite it (barrier below)
    const float tg_logit = threadIdx.x == 0 && losses && tg >= 0 ? to_float(l[tg]) : 0.0f;
    float lrow;
    if (lse_ready) {
        lrow = lse[row];
    } else {
        float m = -INFINITY, s = 0.0f;
        for (int c0 = threadIdx.x * S; c0 < V; c0 += blockDim.x * S) {
            const Vec128<floatX> x = load_chunk_cs(l, c0, V, vec);
            float cm = -INFINITY;
            for (int k = 0; k < S && c0 + k < V; k++) cm = fmaxf(cm, x.get(k));
            if (cm > m) {  // rescale the running sum once per chunk, not once per element
                s *= expf(m - cm);
                m = cm;
            }
            for (int k = 0; k < S && c0 + k < V; k++) s += expf(x.get(k) - m);
        }
        const float mx = block_max(m);
        s = block_sum(m == -INFINITY ? 0.0f : s * expf(m - mx));
        lrow = mx + logf(s);
        if (threadIdx.x == 0 && lse) lse[row] = lrow;
    }
    if (threadIdx.x == 0 && losses) losses[row] = tg >= 0 ? lrow - tg_logit : 0.0f;
    if (write_dlogits) {  // uniform over the block: no thread has left before the barrier
        if (losses) __syncthreads();  // thread 0 has read the target logit
        for (int c0 = threadIdx.x * S; c0 < Vp; c0 += blockDim.x * S) {
            const Vec128<floatX> x = load_chunk_cs(l, c0, Vp, vec);
            Vec128<floatX> o;
            for (int k = 0; k < S; k++) {
                const int v = c0 + k;
                float d = 0.0f;
                if (tg >= 0 && v < V) d = dloss * (expf(x.get(k) - lrow) - (v == tg ? 1.0f : 0.0f));
                o.set(k, d);
            }
            store_chunk_cs(l, c0, Vp, vec, o);
        }
    }
}

// losses may be nullptr (backward-only call); targets nullptr: no loss (inference).
// lse (N floats, may be nullptr): written by a call without lse_ready, read by one with it.
inline void classifier(float* losses, floatX* logits, const int* targets, float dloss, bool write_dlogits,
                       int N, int V, int Vp, float* lse = nullptr, bool lse_ready = false,
                       cudaStream_t stream = 0) {
    if (lse_ready && !lse) noln::fail("classifier: lse_ready without an lse buffer");
    classifier_kernel<<<N, CLASSIFIER_THREADS, 0, stream>>>(losses, logits, targets, dloss, write_dlogits, lse,
                                                            lse_ready, V, Vp, rows_vec_ok(logits, Vp));
    CUDA_CHECK_LAUNCH();
}
