// Fused softmax + cross-entropy (+ dlogits) over the first V of Vp logit columns, in place:
// no probabilities buffer and never a second logits-sized buffer. One block per row.
//   losses[i] = logsumexp(logits[i, :V]) - logits[i, target]     (0 where target < 0)
//   write_dlogits: logits[i, v] <- dloss * (softmax_v - [v == target]), 0 for v >= V and
//   for masked rows; dloss = d(total)/d(each counted token's loss), e.g. scale / ntargets.
// The forward of a training step calls it with write_dlogits = false (the logits stay
// readable) and the backward calls it again with true: one more read of the row buys the
// freedom to inspect logits between the two.
#pragma once
#include "kernels/common.cuh"

constexpr int CLASSIFIER_THREADS = 512;

__global__ void __launch_bounds__(CLASSIFIER_THREADS)
classifier_kernel(float* losses, floatX* logits, const int* targets, float dloss, bool write_dlogits,
                  int V, int Vp) {
    const long row = blockIdx.x;
    floatX* l = logits + row * Vp;
    // online max/sum per thread, then combined across the block
    float m = -INFINITY, s = 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        const float x = to_float(l[v]);
        if (x > m) {
            s = s * expf(m - x) + 1.0f;
            m = x;
        } else {
            s += expf(x - m);
        }
    }
    const float mx = block_max(m);
    s = block_sum(m == -INFINITY ? 0.0f : s * expf(m - mx));
    const int tg = targets ? targets[row] : -1;
    if (threadIdx.x == 0 && losses) losses[row] = tg >= 0 ? logf(s) + mx - to_float(l[tg]) : 0.0f;
    if (!write_dlogits) return;
    // every thread has read its logits (barriers in block_sum) before any is overwritten
    const float inv = 1.0f / s;
    for (int v = threadIdx.x; v < Vp; v += blockDim.x) {
        float d = 0.0f;
        if (tg >= 0 && v < V) d = dloss * (expf(to_float(l[v]) - mx) * inv - (v == tg ? 1.0f : 0.0f));
        l[v] = from_float<floatX>(d);
    }
}

// losses may be nullptr (backward-only call); targets nullptr: no loss (inference).
inline void classifier(float* losses, floatX* logits, const int* targets, float dloss, bool write_dlogits,
                       int N, int V, int Vp, cudaStream_t stream = 0) {
    classifier_kernel<<<N, CLASSIFIER_THREADS, 0, stream>>>(losses, logits, targets, dloss, write_dlogits, V, Vp);
    CUDA_CHECK_LAUNCH();
}
