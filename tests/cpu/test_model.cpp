// The whole CPU model: finite differences of the loss w.r.t. a sample of every parameter
// tensor (GPT2Core<double>) in several LN configurations, and the noln::Model interface of
// GPT2CPU (accumulation, masking, sigma observations, errors, AdamW per tensor, dN init).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/gpt2_core.h"
#include "cpu/gpt2_cpu.h"
#include "host/error.h"
#include "io/model_file.h"
#include "tests/cpu/fd.h"

using namespace noln;

static GPT2Config tiny_config() {
    GPT2Config c;
    c.max_seq_len = 8;
    c.vocab_size = 11;
    c.padded_vocab_size = 16;
    c.num_layers = 2;
    c.num_heads = 2;
    c.channels = 8;
    return c;
}

static void random_params(GPT2Config c, std::vector<double>& p, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d(0.0, 1.0);
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(c, sizes);
    size_t off = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        const bool lnw = t == P_LN1W || t == P_LN2W || t == P_LNFW;
        const double sd = (t == P_WTE || t == P_WPE) ? 0.5 : 0.2;
        for (size_t i = 0; i < sizes[t]; i++) p[off + i] = (lnw ? 1.0 : 0.0) + sd * d(rng);
        off += sizes[t];
    }
}

// The model's loss w.r.t. 6 random entries of each tensor (and wte's padding rows must get 0).
static void check_model_fd(const LNState& ln, double lambda) {
    const GPT2Config c = tiny_config();
    GPT2Core<double> m(c);
    random_params(c, m.params, 42);
    m.ln = ln;
    m.aux_lambda = lambda;
    const int B = 2, T = 6;
    const int in[B * T] = {1, 10, 3, 4, 10, 5, 6, 7, 2, 10, 9, 0};  // eot = 10
    const int tg[B * T] = {10, 3, -1, 5, 6, 7, 8, 10, 0, 1, -1, 2};
    m.forward(in, tg, B, T);
    if (lambda > 0) m.aux_S_fixed = m.aux_target();  // S is a stopgrad: hold it for the FD
    std::fill(m.grads.begin(), m.grads.end(), 0.0);
    const double scale = 0.75;
    m.backward(scale);
    auto loss = [&] {
        m.forward(in, tg, B, T);
        return scale * (m.ce + m.aux);
    };
    std::mt19937 rng(7);
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(c, sizes);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        const size_t off = param_offset(c, t);
        std::vector<size_t> idx;
        for (int k = 0; k < 6; k++) idx.push_back(off + rng() % sizes[t]);
        if (t == P_WTE) idx.push_back(off + (size_t)c.vocab_size * c.channels + 3);  // padding row
        const double err = fdtest::fd_error(loss, m.params, m.grads, idx);
        INFO("tensor " << PARAM_NAMES[t]);
        CHECK(err < 1e-6);
    }
    CHECK(m.grads[(size_t)c.vocab_size * c.channels + 3] == 0.0);
}

TEST_CASE("whole model: loss gradient matches finite differences", "[cpu][fd][model]") {
    const int L = tiny_config().num_layers;
    LNState ln(L);
    ln.eot_token = 10;
    SECTION("all REAL") { check_model_fd(ln, 0.0); }
    SECTION("REAL/FROZEN mix with split QKV") {
        ln.path(PATH_LN2, 0) = {true, 0.8f, 1.0f};
        ln.path(PATH_LN1QK, 0) = {true, 0.9f, 1.0f};  // qk FROZEN, v REAL
        ln.path(PATH_LN1V, 1) = {true, 1.3f, 1.0f};   // qk REAL, v FROZEN
        REQUIRE(ln.ln1_split(0));
        REQUIRE(ln.ln1_split(1));
        check_model_fd(ln, 0.0);
    }
    SECTION("both ln1 paths FROZEN with different sigmas") {
        ln.path(PATH_LN1QK, 1) = {true, 0.7f, 1.0f};
        ln.path(PATH_LN1V, 1) = {true, 1.2f, 1.0f};
        check_model_fd(ln, 0.0);
    }
    SECTION("BOS and EOT specials on FROZEN paths") {
        ln.bos_special = ln.eot_special = true;
        ln.path(PATH_LN2, 1) = {true, 1.1f, 2.5f};
        ln.path(PATH_LN1QK, 0) = {true, 0.9f, 3.0f};
        ln.path(PATH_LN1V, 0) = {true, 0.9f, 3.0f};
        ln.path(PATH_LNF) = {true, 1.6f, 0.5f};
        check_model_fd(ln, 0.0);
    }
    SECTION("all FROZEN") {
        for (int l = 0; l < L; l++) ln.path(PATH_LN2, l) = ln.path(PATH_LN1QK, l) = ln.path(PATH_LN1V, l) = {true, 1.2f, 1.0f};
        ln.path(PATH_LNF) = {true, 1.5f, 1.0f};
        check_model_fd(ln, 0.0);
    }
    SECTION("aux loss") {
        ln.path(PATH_LN1V, 0) = {true, 1.05f, 1.0f};
        check_model_fd(ln, 0.1);
    }
}

TEST_CASE("the specials change exactly the tokens they name", "[cpu][model]") {
    // With only ln1v[0] FROZEN and the EOT rule on, sigma_bos must change the logits only at
    // and after an EOT input (attention mixes later positions), never before it.
    const GPT2Config c = tiny_config();
    GPT2Core<double> m(c);
    random_params(c, m.params, 3);
    m.ln.eot_token = 10;
    m.ln.eot_special = true;
    m.ln.path(PATH_LN1V, 0) = {true, 1.0f, 1.0f};
    const int in[6] = {1, 2, 3, 10, 4, 5};
    m.forward(in, nullptr, 1, 6);
    std::vector<double> a = m.logits;
    m.ln.path(PATH_LN1V, 0).sigma_bos = 4.0f;
    m.forward(in, nullptr, 1, 6);
    const int Vp = c.padded_vocab_size;
    for (int t = 0; t < 6; t++) {
        double d = 0;
        for (int v = 0; v < Vp; v++) d = std::max(d, std::fabs(a[t * Vp + v] - m.logits[t * Vp + v]));
        if (t < 3) CHECK(d == 0.0);
        else CHECK(d > 1e-6);
    }
    // The EOT rule touches ln1v paths only: with ln1v REAL and every other path FROZEN with
    // sigma_bos != sigma, switching it on must change nothing.
    m.ln = LNState(c.num_layers);
    m.ln.eot_token = 10;
    for (int l = 0; l < c.num_layers; l++) m.ln.path(PATH_LN2, l) = m.ln.path(PATH_LN1QK, l) = {true, 1.2f, 5.0f};
    m.ln.path(PATH_LNF) = {true, 1.4f, 6.0f};
    m.forward(in, nullptr, 1, 6);
    std::vector<double> off = m.logits;
    m.ln.eot_special = true;
    m.forward(in, nullptr, 1, 6);
    for (size_t i = 0; i < off.size(); i++) REQUIRE(m.logits[i] == off[i]);
    m.ln = LNState(c.num_layers);
    m.ln.eot_token = 10;
    m.ln.path(PATH_LN1V, 0) = {true, 1.0f, 1.0f};
    // BOS rule on the same path: position 0 is the only one divided differently, so every
    // position (attending to 0) changes; with sigma_bos == sigma nothing changes.
    m.ln.eot_special = false;
    m.ln.bos_special = true;
    m.ln.path(PATH_LN1V, 0).sigma_bos = 1.0f;
    m.forward(in, nullptr, 1, 6);
    for (size_t i = 0; i < a.size(); i++) REQUIRE(m.logits[i] == a[i]);
}

static GPT2CPU make_model(unsigned seed) {
    GPT2CPU m(tiny_config());
    std::vector<float> p(m.num_parameters());
    gpt2_init_params(m.config(), p.data(), seed);
    m.set_parameters(p.data());
    return m;
}

TEST_CASE("GPT2CPU: gradient accumulation, scale, logits and token losses", "[cpu][model]") {
    GPT2CPU m = make_model(1);
    const int B = 2, T = 4, V = m.config().vocab_size;
    const int in[B * T] = {1, 2, 3, 4, 5, 6, 7, 8};
    const int tg[B * T] = {2, 3, -1, 5, 6, 7, 8, 9};
    const size_t n = m.num_parameters();
    std::vector<float> g1(n), g2(n);
    m.zero_grad();
    ForwardResult r = m.forward(in, tg, B, T);
    CHECK(r.ntargets == 7);
    CHECK(r.aux == 0.0f);
    m.backward(1.0f);
    m.get_gradients(g1.data());
    m.zero_grad();
    for (int k = 0; k < 2; k++) {
        m.forward(in, tg, B, T);
        m.backward(0.5f);
    }
    m.get_gradients(g2.data());
    double maxd = 0, maxg = 0;
    for (size_t i = 0; i < n; i++) {
        maxd = std::max(maxd, (double)std::fabs(g1[i] - g2[i]));
        maxg = std::max(maxg, (double)std::fabs(g1[i]));
    }
    CHECK(maxg > 0);
    CHECK(maxd <= 1e-6 * maxg);
    std::vector<float> losses(B * T), logits(B * T * V);
    m.get_token_losses(losses.data());
    CHECK(losses[2] == 0.0f);
    double mean = 0;
    for (float l : losses) mean += l / 7.0;
    CHECK(r.ce == Approx(mean).epsilon(1e-6));
    m.get_logits(logits.data());
    // token loss 0 by hand from the unpadded logits
    double mx = -1e30, se = 0;
    for (int v = 0; v < V; v++) mx = std::max(mx, (double)logits[v]);
    for (int v = 0; v < V; v++) se += std::exp(logits[v] - mx);
    CHECK(losses[0] == Approx(std::log(se) + mx - logits[2]).epsilon(1e-5));
    CHECK(m.grad_norm() > 0.0f);
}

TEST_CASE("GPT2CPU: sigma observations are the mean per-token std at each site", "[cpu][model]") {
    GPT2CPU m = make_model(2);
    const GPT2Config& c = m.config();
    const int B = 2, T = 3, C = c.channels;
    const int in[B * T] = {1, 2, 3, 4, 5, 6};
    m.forward(in, nullptr, B, T);
    // ln1[0]'s input is the embedding; compute it directly from the parameters
    std::vector<float> p(m.num_parameters());
    m.get_parameters(p.data());
    const float* wte = p.data() + param_offset(c, P_WTE);
    const float* wpe = p.data() + param_offset(c, P_WPE);
    double all = 0, bos = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            double mu = 0, var = 0;
            for (int i = 0; i < C; i++) mu += (wte[in[b * T + t] * C + i] + wpe[t * C + i]) / C;
            for (int i = 0; i < C; i++) {
                double d = wte[in[b * T + t] * C + i] + wpe[t * C + i] - mu;
                var += d * d / C;
            }
            all += std::sqrt(var + LN_EPS) / (B * T);
            if (t == 0) bos += std::sqrt(var + LN_EPS) / B;
        }
    CHECK(m.sigma_obs().at(SITE_LN1, 0).sigma == Approx(all).epsilon(1e-5));
    CHECK(m.sigma_obs().at(SITE_LN1, 0).sigma_bos == Approx(bos).epsilon(1e-5));
    CHECK(m.sigma_obs().at(SITE_LN2, 1).sigma > 0.0f);
    CHECK(m.sigma_obs().at(SITE_LNF).sigma > 0.0f);
}

TEST_CASE("GPT2CPU: AdamW decays only 2-D tensors", "[cpu][model][adamw]") {
    GPT2CPU m = make_model(3);
    const GPT2Config& c = m.config();
    const size_t n = m.num_parameters();
    std::vector<float> p0(n), p1(n), zero(n, 0.0f);
    m.get_parameters(p0.data());
    m.zero_grad();  // zero gradients: only weight decay moves anything
    AdamW h;
    h.lr = 0.1f;
    h.weight_decay = 0.5f;
    m.adamw_step(h, 1.0f, 1);
    m.get_parameters(p1.data());
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        const size_t off = param_offset(c, t);
        const float want = param_is_decayed(t) ? p0[off] * (1.0f - 0.05f) : p0[off];
        INFO("tensor " << PARAM_NAMES[t]);
        CHECK(p1[off] == Approx(want).epsilon(1e-6));
    }
    std::vector<float> mm(n), vv(n);
    m.get_optimizer_state(mm.data(), vv.data());
    CHECK(mm[0] == 0.0f);
    CHECK_THROWS_AS(m.adamw_step(h, 1.0f, 0), Error);
}

TEST_CASE("GPT2CPU: bad input is an Error", "[cpu][model]") {
    GPT2CPU m = make_model(4);
    const int bad_in[2] = {1, 11};  // V = 11
    const int ok_in[2] = {1, 2};
    const int bad_tg[2] = {1, 11};
    CHECK_THROWS_AS(m.forward(bad_in, nullptr, 1, 2), Error);
    CHECK_THROWS_AS(m.forward(ok_in, bad_tg, 1, 2), Error);
    std::vector<int> long_in(9, 1);
    CHECK_THROWS_AS(m.forward(long_in.data(), nullptr, 1, 9), Error);  // T > max_seq_len 8
    m.forward(ok_in, nullptr, 1, 2);
    CHECK_THROWS_AS(m.backward(1.0f), Error);  // no targets
    CHECK_THROWS_AS(m.set_ln_state(LNState(3)), Error);
    CHECK_THROWS_AS(m.set_aux_lambda(-1.0f), Error);
    GPT2Config bad = tiny_config();
    bad.channels = 7;  // not divisible by 2 heads
    CHECK_THROWS_AS(GPT2CPU(bad), Error);
}

TEST_CASE("gpt2_init_params: dN statistics, zero padding, deterministic", "[cpu][init]") {
    GPT2Config c = tiny_config();
    c.channels = 64;
    c.num_heads = 4;
    c.num_layers = 3;
    c.vocab_size = 300;
    c.padded_vocab_size = 384;
    const size_t n = num_parameters(c);
    std::vector<float> a(n), b(n), d(n);
    gpt2_init_params(c, a.data(), 5);
    gpt2_init_params(c, b.data(), 5);
    gpt2_init_params(c, d.data(), 6);
    CHECK(std::memcmp(a.data(), b.data(), n * sizeof(float)) == 0);
    CHECK(std::memcmp(a.data(), d.data(), n * sizeof(float)) != 0);
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(c, sizes);
    auto stdev = [&](int t) {
        const float* p = a.data() + param_offset(c, t);
        size_t k = t == P_WTE ? (size_t)c.vocab_size * c.channels : sizes[t];
        double s = 0, s2 = 0;
        for (size_t i = 0; i < k; i++) { s += p[i]; s2 += (double)p[i] * p[i]; }
        return std::sqrt(s2 / k - (s / k) * (s / k));
    };
    CHECK(stdev(P_WTE) == Approx(0.02).epsilon(0.03));
    CHECK(stdev(P_FCW) == Approx(0.02).epsilon(0.03));
    CHECK(stdev(P_FCPROJW) == Approx(0.02 / std::sqrt(6.0)).epsilon(0.03));
    CHECK(stdev(P_ATTPROJW) == Approx(0.02 / std::sqrt(6.0)).epsilon(0.05));
    const float* wte = a.data() + param_offset(c, P_WTE);
    for (size_t i = (size_t)c.vocab_size * c.channels; i < sizes[P_WTE]; i++) REQUIRE(wte[i] == 0.0f);
    for (int t : {P_LN1W, P_LN2W, P_LNFW})
        for (size_t i = 0; i < sizes[t]; i++) REQUIRE(a[param_offset(c, t) + i] == 1.0f);
    for (int t : {P_LN1B, P_QKVB, P_ATTPROJB, P_LN2B, P_FCB, P_FCPROJB, P_LNFB})
        for (size_t i = 0; i < sizes[t]; i++) REQUIRE(a[param_offset(c, t) + i] == 0.0f);
}

TEST_CASE("GPT2CPU from a model file takes its parameters and LN trailer", "[cpu][model]") {
    GPT2CPU src = make_model(8);
    std::vector<float> p(src.num_parameters());
    src.get_parameters(p.data());
    LNState ln(src.config().num_layers);
    ln.path(PATH_LN1V, 1) = {true, 1.25f, 2.5f};
    ln.bos_special = true;
    const std::string path = "build/tests/cpu_model_file.bin";
    write_model_file(path, src.config(), p.data(), 3, &ln);
    GPT2CPU m(read_model_file(path));
    std::vector<float> q(m.num_parameters());
    m.get_parameters(q.data());
    CHECK(q == p);
    CHECK(m.ln_state().path(PATH_LN1V, 1).frozen);
    CHECK(m.ln_state().path(PATH_LN1V, 1).sigma == 1.25f);
    CHECK(m.ln_state().bos_special);
    CHECK_FALSE(m.ln_state().path(PATH_LN2, 0).frozen);
}
