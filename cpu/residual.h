// Residual add: out = a + b.
#pragma once
#include "cpu/parallel.h"

namespace noln {

template <typename F>
void residual_forward(F* out, const F* a, const F* b, long N) {
#pragma omp parallel for simd if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) out[i] = a[i] + b[i];
}

// Accumulates dout into both inputs' gradients.
template <typename F>
void residual_backward(F* da, F* db, const F* dout, long N) {
#pragma omp parallel for simd if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

}  // namespace noln
