// The auxiliary loss of docs/method.md §4 at the ln_f input h (B, T, C):
//   sigma_t = sqrt(var_t(h) + eps),  S = stopgrad(mean of sigma_t over t > 0 with inputs != eot)
//   L_aux = lambda * mean over all (b, t) of (sigma_t - S)^2
// If no position qualifies for S (T == 1, or only EOT tokens), S is the mean over all positions.
#pragma once
#include "cpu/parallel.h"
#include "cpu/layernorm.h"

namespace noln {

// sigma (B*T) is kept for the backward; *S_out receives the target. Returns L_aux.
// S_fixed (tests only): use *S_fixed as the target instead of measuring it, so that a finite
// difference sees S as the constant the stopgrad makes it.
template <typename F>
F aux_loss_forward(F* sigma, F* S_out, const F* h, const int* inputs, int B, int T, int C, int eot,
                   F lambda, const F* S_fixed = nullptr) {
    const long N = (long)B * T;
    layernorm_stats(static_cast<F*>(nullptr), sigma, h, (int)N, C);
    double s = 0, all = 0;
    long n = 0;
    for (long i = 0; i < N; i++) {
        all += sigma[i];
        if (i % T != 0 && inputs[i] != eot) {
            s += sigma[i];
            n++;
        }
    }
    const double S = S_fixed ? (double)*S_fixed : n ? s / n : all / N;
    double loss = 0;
    for (long i = 0; i < N; i++) loss += (sigma[i] - S) * (sigma[i] - S);
    *S_out = (F)S;
    return (F)(lambda * loss / N);
}

// Accumulates into dh the gradient of dloss/lambda * L_aux: pass dloss = scale * lambda.
// dsigma_t/dh_c = (h_c - mean_t) / (C sigma_t); S is a constant (stopgrad).
template <typename F>
void aux_loss_backward(F* dh, const F* h, const F* sigma, F S, F dloss, int B, int T, int C) {
    const long N = (long)B * T;
#pragma omp parallel for if (N * C >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) {
        const F* x = h + i * C;
        double m = 0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        const double dsig = (double)dloss * 2.0 * ((double)sigma[i] - S) / N;
        const double k = dsig / (C * (double)sigma[i]);
        for (int c = 0; c < C; c++) dh[i * C + c] += (F)(k * (x[c] - m));
    }
}

}  // namespace noln
