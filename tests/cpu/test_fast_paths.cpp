// The float-only fast paths of the CPU ops (fast_exp, the AVX clones of softmax and GELU,
// the hand-threaded BLAS calls, attention through BLAS) against plain double arithmetic
// written out here, and the per-op profile of the benchmark. The double instances of the
// ops are checked by finite differences (test_ops.cpp); these checks cover what only the
// float instances run.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/attention.h"
#include "cpu/crossentropy.h"
#include "cpu/fast_math.h"
#include "cpu/gelu.h"
#include "cpu/gpt2_cpu.h"
#include "cpu/layernorm.h"
#include "cpu/matmul.h"
#include "cpu/softmax.h"
#include "tests/cpu/fd.h"

using namespace noln;

// fd.h's normal draws, rounded to float.
static std::vector<float> randf(size_t n, unsigned seed, float sd = 1.0f) {
    const std::vector<double> d = fdtest::randn(n, seed, sd);
    return std::vector<float>(d.begin(), d.end());
}

// Runs f with `n` OpenMP threads (uneven splits), then restores the default.
template <class Fn>
static void with_threads(int n, Fn f) {
    const int old = omp_get_max_threads();
    omp_set_num_threads(n);
    f();
    omp_set_num_threads(old);
}

TEST_CASE("fast_exp: within 2 ulp of exp over the float range, exact limits", "[cpu][fast]") {
    double worst = 0;
    for (float x = -87.3f; x < 88.7f; x += 0.00731f) {
        const double ref = std::exp((double)x);
        worst = std::max(worst, std::fabs(fast_exp(x) - ref) / ref);
    }
    CHECK(worst < 2 * 5.97e-8);
    CHECK(fast_exp(0.0f) == 1.0f);
    CHECK(fast_exp(-100.0f) == 0.0f);
    CHECK(std::isinf(fast_exp(100.0f)));
    CHECK(fast_exp(1.0f) == Approx(2.718281828).epsilon(2e-7));
    // tanh through exp: absolute error near 0 and saturation at both ends
    for (float u : {-20.0f, -3.0f, -0.5f, -1e-4f, 0.0f, 1e-4f, 0.5f, 3.0f, 20.0f})
        CHECK(std::fabs(fast_tanh(u) - std::tanh((double)u)) < 3e-7);
}

TEST_CASE("softmax_span (float, dispatched clone) matches a double softmax", "[cpu][fast]") {
    for (int n : {1, 7, 64, 50257}) {
        std::vector<float> x = randf(n, n, 3.0f), p(n);
        if (n > 7) x[n / 2] = 40.0f;  // a dominant logit
        double mx = -INFINITY, sum = 0;
        for (float v : x) mx = std::max(mx, (double)v);
        for (float v : x) sum += std::exp((double)v - mx);
        const double lse = softmax_span(p.data(), x.data(), n);
        INFO("n = " << n);
        CHECK(lse == Approx(mx + std::log(sum)).epsilon(1e-7));
        double worst = 0, total = 0;
        for (int i = 0; i < n; i++) {
            const double ref = std::exp((double)x[i] - mx) / sum;
            worst = std::max(worst, std::fabs(p[i] - ref) / std::max(ref, 1e-30));
            total += p[i];
        }
        // x - max is rounded to float first: a few ulps of |x - max| (up to ~50 here)
        CHECK(worst < 1e-5);
        CHECK(total == Approx(1.0).epsilon(1e-5));
    }
    // in place (attention uses p == x)
    std::vector<float> x = {1.0f, 2.0f, 3.0f};
    softmax_span(x.data(), x.data(), 3);
    const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    CHECK(x[2] == Approx(std::exp(3.0) / s).epsilon(1e-6));
}

TEST_CASE("float GELU forward/backward match the tanh formula in double", "[cpu][fast]") {
    const long n = 1001;  // not a multiple of any vector width
    std::vector<float> x = randf(n, 3, 3.0f), y(n), dy = randf(n, 4), dx(n, 0.5f);
    x[0] = 0.0f, x[1] = -12.0f, x[2] = 12.0f;
    with_threads(3, [&] {
        gelu_forward(y.data(), x.data(), n);
        gelu_backward(dx.data(), x.data(), dy.data(), n);
    });
    const double k = std::sqrt(2.0 / M_PI);
    double worst_y = 0, worst_dx = 0;
    for (long i = 0; i < n; i++) {
        const double v = x[i], th = std::tanh(k * (v + 0.044715 * v * v * v));
        const double ref_y = 0.5 * v * (1 + th);
        const double g = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v);
        worst_y = std::max(worst_y, std::fabs(y[i] - ref_y) / std::max(1.0, std::fabs(ref_y)));
        worst_dx = std::max(worst_dx, std::fabs(dx[i] - (0.5 + g * dy[i])) /
                                          std::max(1.0, std::fabs(0.5 + g * dy[i])));
    }
    CHECK(worst_y < 1e-6);
    CHECK(worst_dx < 1e-5);  // float x^3 and products, |x| up to 12
}

// out = inp w^T + b and its gradients by plain loops in double.
TEST_CASE("threaded matmul: every split of rows and columns matches plain loops", "[cpu][fast]") {
    struct Shape { int N, IN, OUT; };
    for (Shape s : {Shape{37, 5, 3}, Shape{3, 5, 37}, Shape{4, 41, 6}, Shape{1, 8, 8}}) {
        const int N = s.N, IN = s.IN, OUT = s.OUT, ldo = OUT + 2;
        std::vector<float> inp = randf(N * IN, 1), w = randf(OUT * IN, 2), b = randf(OUT, 3);
        std::vector<float> dout = randf(N * ldo, 4), out(N * ldo, 7.0f);
        std::vector<float> dinp(N * IN, 0.25f), dw(OUT * IN, 0.5f), db(OUT, 1.0f);
        with_threads(3, [&] {
            matmul_forward(out.data(), ldo, inp.data(), w.data(), b.data(), N, IN, OUT);
            matmul_backward(dinp.data(), dw.data(), db.data(), dout.data(), ldo, inp.data(),
                            w.data(), N, IN, OUT);
        });
        INFO("N " << N << " IN " << IN << " OUT " << OUT);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) {
                double r = b[o];
                for (int i = 0; i < IN; i++) r += (double)inp[n * IN + i] * w[o * IN + i];
                REQUIRE(out[n * ldo + o] == Approx(r).margin(1e-5));
            }
        CHECK(out[ldo - 1] == 7.0f);  // columns beyond OUT untouched
        for (int n = 0; n < N; n++)
            for (int i = 0; i < IN; i++) {
                double r = 0.25;
                for (int o = 0; o < OUT; o++) r += (double)dout[n * ldo + o] * w[o * IN + i];
                REQUIRE(dinp[n * IN + i] == Approx(r).margin(1e-5));
            }
        for (int o = 0; o < OUT; o++) {
            double rb = 1.0;
            for (int n = 0; n < N; n++) rb += dout[n * ldo + o];
            REQUIRE(db[o] == Approx(rb).margin(1e-5));
            for (int i = 0; i < IN; i++) {
                double r = 0.5;
                for (int n = 0; n < N; n++) r += (double)dout[n * ldo + o] * inp[n * IN + i];
                REQUIRE(dw[o * IN + i] == Approx(r).margin(1e-5));
            }
        }
    }
}

TEST_CASE("float attention through BLAS matches the double instance", "[cpu][fast]") {
    const int B = 2, T = 9, C = 12, NH = 3;
    std::vector<float> qkv = randf(B * T * 3 * C, 5), dout = randf(B * T * C, 6);
    std::vector<float> out(B * T * C), att(B * NH * T * T), dqkv(B * T * 3 * C, 0.125f);
    std::vector<double> qkv_d(qkv.begin(), qkv.end()), dout_d(dout.begin(), dout.end());
    std::vector<double> out_d(out.size()), att_d(att.size()), dqkv_d(dqkv.size(), 0.125);
    with_threads(3, [&] {
        attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
        attention_backward(dqkv.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH);
    });
    attention_forward(out_d.data(), att_d.data(), qkv_d.data(), B, T, C, NH);
    attention_backward(dqkv_d.data(), dout_d.data(), qkv_d.data(), att_d.data(), B, T, C, NH);
    for (size_t i = 0; i < out.size(); i++) REQUIRE(out[i] == Approx(out_d[i]).margin(1e-5));
    for (size_t i = 0; i < att.size(); i++) REQUIRE(att[i] == Approx(att_d[i]).margin(1e-6));
    for (size_t i = 0; i < dqkv.size(); i++) REQUIRE(dqkv[i] == Approx(dqkv_d[i]).margin(1e-5));
    CHECK(att[1] == 0.0f);  // above the diagonal
}

TEST_CASE("LayerNorm backward: dw/db do not depend on the thread count", "[cpu][fast]") {
    const int N = 6000, C = 24;  // N * C above PARALLEL_MIN_WORK: the threaded path
    std::vector<float> x = randf(N * C, 7), w = randf(C, 8), dy = randf(N * C, 9), y(N * C),
        mean(N), rstd(N);
    std::vector<float> b(C, 0.0f);
    layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C,
                      (const float*)nullptr);
    std::vector<std::vector<float>> dws;
    for (int nt : {1, 2, 3}) {
        std::vector<float> dx(N * C, 0), dw(C, 0), db(C, 0);
        with_threads(nt, [&] {
            layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(),
                               mean.data(), rstd.data(), N, C, false);
        });
        for (int c = 0; c < C; c++) {  // db is the column sum of dy
            double s = 0;
            for (int i = 0; i < N; i++) s += dy[i * C + c];
            REQUIRE(db[c] == Approx(s).margin(1e-5));
        }
        dws.push_back(dw);
    }
    for (int c = 0; c < C; c++) CHECK(std::fabs(dws[0][c] - dws[2][c]) < 1e-5);
    // the same thread count twice gives the same bits
    std::vector<float> dx(N * C, 0), dw(C, 0), db(C, 0);
    with_threads(3, [&] {
        layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(),
                           mean.data(), rstd.data(), N, C, false);
    });
    CHECK(dw == dws[2]);
}

TEST_CASE("the per-op profile books each op of a step, and nothing when off", "[cpu][profile]") {
    GPT2Config c;
    c.max_seq_len = 8, c.vocab_size = 11, c.padded_vocab_size = 16;
    c.num_layers = 2, c.num_heads = 2, c.channels = 8;
    GPT2CPU m(c);
    gpt2_init_params(c, m.params(), 1);
    const int in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, tg[8] = {2, 3, 4, 5, 6, 7, 8, 9};
    OpProfile prof;
    m.set_profile(&prof);
    m.forward(in, tg, 2, 4);
    m.backward(1.0f);
    auto calls = [&](const char* name) {
        for (const auto& e : prof.entries)
            if (e.name == name) return e.calls;
        return 0L;
    };
    CHECK(calls("encoder_fwd") == 1);
    CHECK(calls("matmul_fwd") == 4 * c.num_layers);  // qkv, attproj, fc, fcproj
    CHECK(calls("attention_fwd") == c.num_layers);
    CHECK(calls("crossentropy_fwd") == 1);
    CHECK(calls("unembedding_bwd") == 1);
    CHECK(calls("attention_bwd") == c.num_layers);
    CHECK(calls("encoder_bwd") == 1);
    for (const auto& e : prof.entries) CHECK(e.seconds >= 0);
    m.set_profile(nullptr);
    const size_t n = prof.entries.size();
    const long before = calls("encoder_fwd");
    m.forward(in, tg, 2, 4);
    CHECK(prof.entries.size() == n);
    CHECK(calls("encoder_fwd") == before);
}
