// Token + position embedding: out[b,t,:] = wte[inp[b,t],:] + wpe[t,:].
#pragma once
#include "cpu/parallel.h"

namespace noln {

template <typename F>
void encoder_forward(F* out, const int* inp, const F* wte, const F* wpe, int B, int T, int C) {
#pragma omp parallel for collapse(2) if ((long)B * T * C >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            F* o = out + ((long)b * T + t) * C;
            const F* we = wte + (long)inp[b * T + t] * C;
            const F* pe = wpe + (long)t * C;
            for (int i = 0; i < C; i++) o[i] = we[i] + pe[i];
        }
}

// Accumulates. Serial over tokens: a token id can repeat, so rows of dwte are shared.
template <typename F>
void encoder_backward(F* dwte, F* dwpe, const F* dout, const int* inp, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const F* d = dout + ((long)b * T + t) * C;
            F* dwe = dwte + (long)inp[b * T + t] * C;
            F* dpe = dwpe + (long)t * C;
            for (int i = 0; i < C; i++) {
                dwe[i] += d[i];
                dpe[i] += d[i];
            }
        }
}

}  // namespace noln
