// Squared L2 norm of a gradient buffer, accumulated in double (the clipping factor needs
// the global norm over all tensors and ranks, so callers sum squares before the sqrt).
#pragma once
#include <cstddef>

namespace noln {

template <typename F>
double global_norm_squared(const F* g, size_t n) {
    double s = 0;
#pragma omp parallel for simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return s;
}

}  // namespace noln
