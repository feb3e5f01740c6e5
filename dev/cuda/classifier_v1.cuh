// v1 of the classifier: the trainer's kernel before issue 12, kept as the lab's baseline
// (scalar 16-bit loads, an online max/sum rescaled per element; the backward call reduces
// the row again before writing dlogits, so a training step reads the logits three times).
#pragma once
#include "kernels/classifier.cuh"

__global__ void __launch_bounds__(CLASSIFIER_THREADS)
classifier_v1_kernel(float* losses, floatX* logits, const int* targets, float dloss, bool write_dlogits,
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

inline void classifier_v1(float* losses, floatX* logits, const int* targets, float dloss, bool write_dlogits, int N,
                          int V, int Vp) {
    classifier_v1_kernel<<<N, CLASSIFIER_THREADS>>>(losses, logits, targets, dloss, write_dlogits, V, Vp);
    CUDA_CHECK_LAUNCH();
}
