// Softmax cross-entropy over the first V of Vp logit columns (the rest is vocab padding).
// A target < 0 is masked: loss 0, no gradient.
#pragma once
#include <cmath>

#include "cpu/softmax.h"

namespace noln {

// probs (N, Vp): softmax of the first V columns, 0 beyond. losses (N): -log p[target] computed
// as logsumexp - logit[target] so it never goes through a rounded-to-zero probability.
// Returns how many targets were counted.
template <typename F>
long softmax_crossentropy_forward(F* probs, F* losses, const F* logits, const int* targets, int N,
                                  int V, int Vp) {
    long count = 0;
#pragma omp parallel for reduction(+ : count)
    for (long i = 0; i < N; i++) {
        const F* l = logits + i * Vp;
        F* p = probs + i * Vp;
        const double lse = softmax_span(p, l, V);
        for (int v = V; v < Vp; v++) p[v] = 0;
        const int tg = targets ? targets[i] : -1;
        if (tg >= 0) {
            losses[i] = (F)(lse - (double)l[tg]);
            count++;
        } else {
            losses[i] = 0;
        }
    }
    return count;
}

// dlogits = dloss * (probs - onehot(target)) per counted row, 0 for masked rows and padded
// columns; dloss is d(total)/d(each counted token's loss), e.g. scale / ntargets. Overwrites.
template <typename F>
void softmax_crossentropy_backward(F* dlogits, const F* probs, const int* targets, F dloss, int N,
                                   int V, int Vp) {
#pragma omp parallel for
    for (long i = 0; i < N; i++) {
        F* d = dlogits + i * Vp;
        const F* p = probs + i * Vp;
        const int tg = targets[i];
        if (tg < 0) {
            for (int v = 0; v < Vp; v++) d[v] = 0;
            continue;
        }
#pragma omp simd
        for (int v = 0; v < V; v++) d[v] = dloss * p[v];
        d[tg] -= dloss;
        for (int v = V; v < Vp; v++) d[v] = 0;
    }
}

}  // namespace noln
