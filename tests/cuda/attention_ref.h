// The oracle for every attention version (tests/cuda/test_attention.cu and the dev/cuda lab):
// cpu/attention.h run in double on the floatX-rounded inputs, plus the log-sum-exp the flash
// kernels keep, and the checks with their tolerances (one copy for both).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cpu/attention.h"
#include "tests/cuda/cuda_test.h"

struct AttentionCase {
    int B, T, C, NH;
    Vd qkv, dout, dqkv0;  // inputs (floatX-rounded); dqkv0: what dqkv holds before the backward
    Vd out, att, lse, dqkv;  // the oracle's outputs; dqkv = dqkv0 + the gradient
};

// Random inputs for (B, T, C, NH) and the oracle's outputs (dqkv only when `backward`). lse comes from the diagonal:
// att[t][t] = exp(s_tt - lse_t), so lse_t = s_tt - log att[t][t] (att[t][t] is never tiny
// for these inputs: |s| stays below ~10).
inline AttentionCase attention_case(int B, int T, int C, int NH, uint64_t seed, bool backward = true) {
    AttentionCase k{B, T, C, NH, {}, {}, {}, {}, {}, {}, {}};
    Rng r(seed);
    const size_t N = (size_t)B * T;
    k.qkv = rounded(r.vec(N * 3 * C, -1.5, 1.5));
    k.dout = rounded(r.vec(N * C, -1, 1));
    k.dqkv0 = rounded(r.vec(N * 3 * C, -1, 1));
    k.out.assign(N * C, 0.0);
    k.att.assign((size_t)B * NH * T * T, 0.0);
    noln::attention_forward(k.out.data(), k.att.data(), k.qkv.data(), B, T, C, NH);
    const int hs = C / NH;
    k.lse.assign((size_t)B * NH * T, 0.0);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const double* q = &k.qkv[((size_t)b * T + t) * 3 * C + h * hs];
                double s = 0;
                for (int i = 0; i < hs; i++) s += q[i] * q[C + i];
                const size_t row = ((size_t)b * NH + h) * T + t;
                k.lse[row] = s / std::sqrt((double)hs) - std::log(k.att[row * T + t]);
            }
    k.dqkv = k.dqkv0;
    if (backward) noln::attention_backward(k.dqkv.data(), k.dout.data(), k.qkv.data(), k.att.data(), B, T, C, NH);
    return k;
}

// Tolerances (relative to max(1, |ref|), see cuda_test.h): FP32 1e-5 for outputs, 1e-4 for
// gradients (long fp32 sums); BF16: out 3 eps (P rounded to bf16 before its product: v1
// and v2 store it, v3 feeds it to the tensor cores; then the output rounded once),
// dqkv 4 eps (bf16 P and dS into the products, then one accumulation into bf16). The
// log-sum-exp is fp32 computed from the stored inputs: 1e-5 in both builds.
inline double att_tol_out() { return tol(3); }
inline double att_tol_grad() { return IS_FP32 ? 1e-4 : tol(4); }

// Compares what a version produced; `what` names the version. Returns the worst error
// divided by its tolerance (<= 1 passes) and prints one line per tensor when verbose.
inline double attention_check(const AttentionCase& k, const char* what, const Vd* out, const Vd* lse,
                              const Vd* dqkv, bool verbose) {
    double worst = 0;
    auto one = [&](const Vd* got, const Vd& want, double t, const char* name) {
        if (!got) return;
        const double e = max_err(*got, want);
        char label[160];
        snprintf(label, sizeof label, "%s %s B%d T%d C%d NH%d", what, name, k.B, k.T, k.C, k.NH);
        CHECK(e <= t, "%s [%s]: max error %.3g > tolerance %.3g", label, PRECISION_NAME, e, t);
        if (verbose) printf("  %-68s max err %.3g (tolerance %.3g)\n", label, e, t);
        worst = std::max(worst, e / t);
    };
    one(out, k.out, att_tol_out(), "out");
    one(lse, k.lse, 1e-5, "lse");  // fp32 in both builds, from the exact (rounded) inputs
    one(dqkv, k.dqkv, att_tol_grad(), "dqkv");
    return worst;
}
