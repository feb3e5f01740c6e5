// GELU, tanh approximation (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#pragma once
#include <cmath>

namespace noln {

constexpr double GELU_K = 0.7978845608028654;  // sqrt(2/pi)

template <typename F>
void gelu_forward(F* out, const F* inp, long N) {
#pragma omp parallel for
    for (long i = 0; i < N; i++) {
        double x = inp[i];
        out[i] = (F)(0.5 * x * (1.0 + std::tanh(GELU_K * (x + 0.044715 * x * x * x))));
    }
}

// Accumulates into dinp.
template <typename F>
void gelu_backward(F* dinp, const F* inp, const F* dout, long N) {
#pragma omp parallel for
    for (long i = 0; i < N; i++) {
        double x = inp[i];
        double u = GELU_K * (x + 0.044715 * x * x * x);
        double th = std::tanh(u);
        double du = GELU_K * (1.0 + 3.0 * 0.044715 * x * x);
        double grad = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du;
        dinp[i] += (F)(grad * dout[i]);
    }
}

}  // namespace noln
