// Tied unembedding: logits (N, Vp) = x (N, C) wte^T, no bias. The gradient w.r.t. wte adds
// to the encoder's (the two uses of one tensor). Padded columns >= V are computed like the
// rest; the loss ignores them, so their gradient is zero.
#pragma once
#include "cpu/matmul.h"

namespace noln {

template <typename F>
void unembedding_forward(F* logits, const F* x, const F* wte, int N, int C, int Vp) {
    matmul_forward(logits, Vp, x, wte, (const F*)nullptr, N, C, Vp);
}

// Accumulates into dx and dwte.
template <typename F>
void unembedding_backward(F* dx, F* dwte, const F* dlogits, const F* x, const F* wte, int N, int C,
                          int Vp) {
    matmul_backward(dx, dwte, (F*)nullptr, dlogits, Vp, x, wte, N, C, Vp);
}

}  // namespace noln
