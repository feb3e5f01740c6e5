// Every CPU op's backward against central finite differences of its forward (double
// precision), plus a few forward values worked out by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "cpu/adamw.h"
#include "cpu/attention.h"
#include "cpu/aux_loss.h"
#include "cpu/crossentropy.h"
#include "cpu/encoder.h"
#include "cpu/gelu.h"
#include "cpu/global_norm.h"
#include "cpu/layernorm.h"
#include "cpu/matmul.h"
#include "cpu/residual.h"
#include "cpu/unembedding.h"
#include "tests/cpu/fd.h"

using namespace noln;
using namespace fdtest;
using Vec = std::vector<double>;

TEST_CASE("encoder backward matches finite differences", "[cpu][fd]") {
    const int B = 2, T = 3, C = 4, V = 5, maxT = 4;
    Vec wte = randn(V * C, 1), wpe = randn(maxT * C, 2), w = randn(B * T * C, 3);
    const int inp[B * T] = {1, 3, 1, 4, 1, 0};  // repeats: rows of dwte are shared
    Vec out(B * T * C);
    auto loss = [&] { encoder_forward(out.data(), inp, wte.data(), wpe.data(), B, T, C); return dot(out, w); };
    Vec dwte(V * C, 0), dwpe(maxT * C, 0);
    encoder_backward(dwte.data(), dwpe.data(), w.data(), inp, B, T, C);
    CHECK(fd_error(loss, wte, dwte) < FD_TOL);
    CHECK(fd_error(loss, wpe, dwpe) < FD_TOL);
    CHECK(dwpe[3 * C] == 0.0);  // position 3 unused at T = 3
}

TEST_CASE("matmul backward matches finite differences, with a strided output", "[cpu][fd]") {
    const int N = 5, IN = 6, OUT = 4, LDO = 7;  // out is a column slice of a wider buffer
    Vec inp = randn(N * IN, 4), wt = randn(OUT * IN, 5), bias = randn(OUT, 6), w = randn(N * LDO, 7);
    Vec out(N * LDO, 0);
    auto loss = [&] {
        matmul_forward(out.data(), LDO, inp.data(), wt.data(), bias.data(), N, IN, OUT);
        double s = 0;
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) s += out[n * LDO + o] * w[n * LDO + o];
        return s;
    };
    // the forward against its definition
    loss();
    double ref = bias[2];
    for (int i = 0; i < IN; i++) ref += inp[3 * IN + i] * wt[2 * IN + i];
    CHECK(out[3 * LDO + 2] == Approx(ref).epsilon(1e-12));
    Vec dinp(N * IN, 0), dw(OUT * IN, 0), db(OUT, 0);
    matmul_backward(dinp.data(), dw.data(), db.data(), w.data(), LDO, inp.data(), wt.data(), N, IN, OUT);
    CHECK(fd_error(loss, inp, dinp) < FD_TOL);
    CHECK(fd_error(loss, wt, dw) < FD_TOL);
    CHECK(fd_error(loss, bias, db) < FD_TOL);
}

TEST_CASE("tied unembedding backward matches finite differences", "[cpu][fd]") {
    const int N = 3, C = 4, Vp = 6;
    Vec x = randn(N * C, 8), wte = randn(Vp * C, 9), w = randn(N * Vp, 10), logits(N * Vp);
    auto loss = [&] { unembedding_forward(logits.data(), x.data(), wte.data(), N, C, Vp); return dot(logits, w); };
    Vec dx(N * C, 0), dwte(Vp * C, 0);
    unembedding_backward(dx.data(), dwte.data(), w.data(), x.data(), wte.data(), N, C, Vp);
    CHECK(fd_error(loss, x, dx) < FD_TOL);
    CHECK(fd_error(loss, wte, dwte) < FD_TOL);
}

TEST_CASE("attention backward matches finite differences", "[cpu][fd]") {
    const int B = 2, T = 5, C = 8, NH = 2;
    Vec qkv = randn(B * T * 3 * C, 11), w = randn(B * T * C, 12), out(B * T * C), att(B * NH * T * T);
    auto loss = [&] { attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH); return dot(out, w); };
    loss();
    // causal: row t of att sums to 1 and is 0 above the diagonal; position 0 copies v_0
    for (int t = 0; t < T; t++) {
        double s = 0;
        for (int t2 = 0; t2 < T; t2++) s += att[t * T + t2];
        CHECK(s == Approx(1.0).epsilon(1e-12));
        if (t + 1 < T) CHECK(att[t * T + t + 1] == 0.0);
    }
    for (int i = 0; i < C; i++) CHECK(out[i] == Approx(qkv[2 * C + i]).epsilon(1e-12));
    Vec dqkv(qkv.size(), 0);
    attention_backward(dqkv.data(), w.data(), qkv.data(), att.data(), B, T, C, NH);
    CHECK(fd_error(loss, qkv, dqkv) < FD_TOL);
}

TEST_CASE("GELU backward matches finite differences; forward is the tanh form", "[cpu][fd]") {
    const int N = 20;
    Vec x = randn(N, 13, 2.0), w = randn(N, 14), out(N);
    auto loss = [&] { gelu_forward(out.data(), x.data(), N); return dot(out, w); };
    Vec one = {1.0}, y1(1);
    gelu_forward(y1.data(), one.data(), 1);
    CHECK(y1[0] == Approx(0.8411919906082768).epsilon(1e-12));  // 0.5(1+tanh(sqrt(2/pi)*1.044715))
    Vec dx(N, 0);
    gelu_backward(dx.data(), x.data(), w.data(), N);
    CHECK(fd_error(loss, x, dx) < FD_TOL);
}

TEST_CASE("erf GELU (--gelu erf) backward matches finite differences; forward is x Phi(x)", "[cpu][fd]") {
    const int N = 20;
    Vec x = randn(N, 23, 2.0), w = randn(N, 24), out(N);
    auto loss = [&] { gelu_forward(out.data(), x.data(), N, Gelu::Erf); return dot(out, w); };
    Vec pts = {1.0, -0.5, 2.0}, y(3);
    gelu_forward(y.data(), pts.data(), 3, Gelu::Erf);
    // x * Phi(x), Phi from the standard normal table: Phi(1) = 0.8413447460685429,
    // Phi(-0.5) = 0.3085375387259869, Phi(2) = 0.9772498680518208
    CHECK(y[0] == Approx(0.8413447460685429).epsilon(1e-12));
    CHECK(y[1] == Approx(-0.5 * 0.3085375387259869).epsilon(1e-12));
    CHECK(y[2] == Approx(2.0 * 0.9772498680518208).epsilon(1e-12));
    Vec dx(N, 0);
    gelu_backward(dx.data(), x.data(), w.data(), N, Gelu::Erf);
    CHECK(fd_error(loss, x, dx) < FD_TOL);
    // and it is not the tanh form's gradient
    Vec dt(N, 0);
    gelu_backward(dt.data(), x.data(), w.data(), N);
    double diff = 0;
    for (int i = 0; i < N; i++) diff = std::max(diff, std::fabs(dt[i] - dx[i]));
    CHECK(diff > 1e-5);
}

TEST_CASE("residual backward matches finite differences", "[cpu][fd]") {
    const int N = 7;
    Vec a = randn(N, 15), b = randn(N, 16), w = randn(N, 17), out(N);
    auto loss = [&] { residual_forward(out.data(), a.data(), b.data(), N); return dot(out, w); };
    Vec da(N, 0), db(N, 0);
    residual_backward(da.data(), db.data(), w.data(), N);
    CHECK(fd_error(loss, a, da) < FD_TOL);
    CHECK(fd_error(loss, b, db) < FD_TOL);
}

TEST_CASE("softmax cross-entropy: hand values, masking, padding, finite differences", "[cpu][fd]") {
    const int N = 4, V = 5, Vp = 8;
    Vec logits = randn(N * Vp, 18, 2.0), probs(N * Vp), losses(N);
    const int targets[N] = {2, -1, 4, 0};
    const double dloss = 0.37;
    auto loss = [&] {
        softmax_crossentropy_forward(probs.data(), losses.data(), logits.data(), targets, N, V, Vp);
        double s = 0;
        for (double l : losses) s += l;
        return dloss * s;
    };
    CHECK(softmax_crossentropy_forward(probs.data(), losses.data(), logits.data(), targets, N, V, Vp) == 3);
    CHECK(losses[1] == 0.0);
    CHECK(probs[V] == 0.0);  // padding column
    // row 0 by hand: -log softmax over the first V columns only
    double se = 0;
    for (int v = 0; v < V; v++) se += std::exp(logits[v]);
    CHECK(losses[0] == Approx(std::log(se) - logits[2]).epsilon(1e-12));
    Vec dlogits(N * Vp, 99.0);
    softmax_crossentropy_backward(dlogits.data(), probs.data(), targets, dloss, N, V, Vp);
    for (int v = 0; v < Vp; v++) CHECK(dlogits[Vp + v] == 0.0);  // masked row
    for (int v = V; v < Vp; v++) CHECK(dlogits[v] == 0.0);       // padding columns
    CHECK(fd_error(loss, logits, dlogits) < FD_TOL);
    // uniform logits: loss ln V
    Vec zl(Vp, 0.0), zp(Vp), zloss(1);
    const int t0 = 1;
    softmax_crossentropy_forward(zp.data(), zloss.data(), zl.data(), &t0, 1, V, Vp);
    CHECK(zloss[0] == Approx(std::log(5.0)).epsilon(1e-12));
}

TEST_CASE("REAL LayerNorm: forward by hand, backward by finite differences", "[cpu][fd]") {
    const int N = 3, C = 6;
    Vec x = randn(N * C, 19), wt = randn(C, 20), b = randn(C, 21), w = randn(N * C, 22);
    for (auto& g : wt) g += 1.0;
    Vec out(N * C), mean(N), rstd(N);
    auto loss = [&] {
        layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), wt.data(), b.data(), N, C,
                          (const double*)nullptr);
        return dot(out, w);
    };
    Vec x2 = {1, 2, 3, 4}, w2 = {1, 1, 1, 1}, b2 = {0, 0, 0, 0}, o2(4), m2(1), r2(1);
    layernorm_forward(o2.data(), m2.data(), r2.data(), x2.data(), w2.data(), b2.data(), 1, 4,
                      (const double*)nullptr);
    CHECK(m2[0] == 2.5);
    CHECK(o2[0] == Approx(-1.5 / std::sqrt(1.25 + 1e-5)).epsilon(1e-12));  // population variance
    loss();
    Vec dx(N * C, 0), dwt(C, 0), db(C, 0);
    layernorm_backward(dx.data(), dwt.data(), db.data(), w.data(), x.data(), wt.data(), mean.data(),
                       rstd.data(), N, C, false);
    CHECK(fd_error(loss, x, dx) < FD_TOL);
    CHECK(fd_error(loss, wt, dwt) < FD_TOL);
    CHECK(fd_error(loss, b, db) < FD_TOL);
}

TEST_CASE("FROZEN LayerNorm with per-token divisors: forward by hand, backward by FD", "[cpu][fd]") {
    const int N = 4, C = 5;
    Vec x = randn(N * C, 23, 3.0), wt = randn(C, 24), b = randn(C, 25), w = randn(N * C, 26);
    // a path's sigma, with a different (BOS/EOT special) divisor on tokens 0 and 2
    const Vec fr = {1.0 / 2.5, 1.0 / 0.8, 1.0 / 2.5, 1.0 / 0.8};
    Vec out(N * C), mean(N), rstd(N);
    auto loss = [&] {
        layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), wt.data(), b.data(), N, C, fr.data());
        return dot(out, w);
    };
    loss();
    double m = 0;
    for (int c = 0; c < C; c++) m += x[2 * C + c] / C;
    CHECK(out[2 * C + 1] == Approx((x[2 * C + 1] - m) / 2.5 * wt[1] + b[1]).epsilon(1e-12));
    Vec dx(N * C, 0), dwt(C, 0), db(C, 0);
    layernorm_backward(dx.data(), dwt.data(), db.data(), w.data(), x.data(), wt.data(), mean.data(),
                       rstd.data(), N, C, true);
    CHECK(fd_error(loss, x, dx) < FD_TOL);
    CHECK(fd_error(loss, wt, dwt) < FD_TOL);
    CHECK(fd_error(loss, b, db) < FD_TOL);
    // docs/method.md §2's closed form: dx = (g - mean(g)) / s with g = gamma * dy
    double gm = 0;
    for (int c = 0; c < C; c++) gm += wt[c] * w[C + c] / C;
    CHECK(dx[C + 3] == Approx((wt[3] * w[C + 3] - gm) / 0.8).epsilon(1e-12));
}

TEST_CASE("aux loss: target S by hand, backward by FD with S held fixed", "[cpu][fd]") {
    const int B = 2, T = 4, C = 6, eot = 7;
    Vec h = randn(B * T * C, 27, 1.5), sigma(B * T);
    const int inputs[B * T] = {3, 7, 1, 2, 7, 5, 7, 0};
    const double lambda = 0.3;
    double S = 0;
    const double L = aux_loss_forward(sigma.data(), &S, h.data(), inputs, B, T, C, eot, lambda);
    // S: positions t > 0 whose input is not EOT: (0,2) (0,3) (1,1) (1,3)
    Vec sd(B * T);
    for (int i = 0; i < B * T; i++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += h[i * C + c] / C;
        for (int c = 0; c < C; c++) v += (h[i * C + c] - m) * (h[i * C + c] - m) / C;
        sd[i] = std::sqrt(v + LN_EPS);
    }
    const double Sref = (sd[2] + sd[3] + sd[5] + sd[7]) / 4;
    CHECK(S == Approx(Sref).epsilon(1e-12));
    double Lref = 0;
    for (double s : sd) Lref += (s - Sref) * (s - Sref) / (B * T);
    CHECK(L == Approx(lambda * Lref).epsilon(1e-12));
    const double S0 = S;
    auto loss = [&] {
        double s;
        return aux_loss_forward(sigma.data(), &s, h.data(), inputs, B, T, C, eot, lambda, &S0);
    };
    loss();
    const double scale = 0.6;
    Vec dh(h.size(), 0);
    aux_loss_backward(dh.data(), h.data(), sigma.data(), S0, scale * lambda, B, T, C);
    for (auto& g : dh) g /= scale;
    CHECK(fd_error(loss, h, dh) < FD_TOL);
}

TEST_CASE("AdamW matches a step computed by hand", "[cpu][adamw]") {
    // p = 1, g = 0.5 (then 2 * 0.25 via grad_scale), lr 0.1, betas 0.9/0.95, eps 1e-8, wd 0.1
    double p[2] = {1.0, 1.0}, g[2] = {0.5, 1.0}, m[2] = {0, 0}, v[2] = {0, 0};
    adamw_update(p, g, m, v, 1, 0.1, 0.9, 0.95, 1e-8, 0.1, 1.0, 1);
    adamw_update(p + 1, g + 1, m + 1, v + 1, 1, 0.1, 0.9, 0.95, 1e-8, 0.1, 0.5, 1);
    // t=1: m = 0.05, v = 0.0125, mhat = 0.5, vhat = 0.25, update = 0.5 / (0.5 + 1e-8)
    const double p1 = 1.0 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.1 * 1.0);
    CHECK(m[0] == Approx(0.05).epsilon(1e-14));
    CHECK(v[0] == Approx(0.0125).epsilon(1e-14));
    CHECK(p[0] == Approx(p1).epsilon(1e-14));
    CHECK(p[1] == Approx(p1).epsilon(1e-14));  // grad_scale applied before the moments
    // t=2 with g = -0.2: m = 0.9*0.05 - 0.02 = 0.025, v = 0.95*0.0125 + 0.05*0.04 = 0.013875
    g[0] = -0.2;
    adamw_update(p, g, m, v, 1, 0.1, 0.9, 0.95, 1e-8, 0.1, 1.0, 2);
    const double mhat = 0.025 / (1 - 0.81), vhat = 0.013875 / (1 - 0.9025);
    CHECK(p[0] == Approx(p1 - 0.1 * (mhat / (std::sqrt(vhat) + 1e-8) + 0.1 * p1)).epsilon(1e-13));
}

TEST_CASE("global norm squared", "[cpu]") {
    const float g[3] = {3.0f, 0.0f, -4.0f};
    CHECK(global_norm_squared(g, 3) == 25.0);
}
