// Direct logit attribution (eval/dla.h) and the folded export's refusals
// (eval/export_folded.h). The logits of the folded export are checked against the engine in
// PyTorch by tests/suites/56-export-roundtrip.sh; the noln_dla tool by 59-dla.sh.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "eval/dla.h"
#include "eval/export_folded.h"
#include "host/error.h"
#include "tests/eval/eval_util.h"

using namespace noln;
using Catch::Matchers::Contains;

namespace {

struct Run {
    DlaResult r;
    double scale;  // max(1, max |logit|) at the last position
};

// The DLA of the top `k` logits at the last position of one sequence of T tokens.
Run dla_of(const GPT2Config& c, const std::vector<float>& p, const LNState& ln, int T, int k) {
    GPT2CPU m(c);
    m.set_parameters(p.data());
    m.set_ln_state(ln);
    std::vector<int> tok(T);
    for (int i = 0; i < T; i++) tok[i] = (i * 37 + 11) % c.vocab_size;
    m.forward(tok.data(), nullptr, 1, T);
    DlaActs a = dla_acts(m.core());
    Run run{direct_logit_attribution(c, m.params(), ln, tok.data(), a, top_tokens(c, a, k)), 0};
    run.scale = std::max(1.0, run.r.max_abs_logit);
    return run;
}

double worst_sum_error(const DlaResult& r) {
    double w = 0;
    for (const DlaLogit& d : r.logits) w = std::max(w, std::fabs(d.sum_error()));
    return w;
}

}  // namespace

TEST_CASE("DLA sums to the logit and equals the direct effect on LN-free models", "[dla]") {
    struct Shape { int L, C, NH, V, T; };
    for (Shape s : {Shape{1, 16, 2, 64, 5}, Shape{3, 32, 4, 96, 24}, Shape{2, 48, 6, 200, 1},
                    Shape{4, 24, 3, 130, 17}}) {
        CAPTURE(s.L, s.C, s.NH, s.V, s.T);
        GPT2Config c = evaltest::tiny_config(s.L, s.C, s.NH, s.V, 24);
        std::vector<float> p = evaltest::random_params(c, 3 + s.L);
        LNState ln = evaltest::frozen_state(s.L);
        // split QKV: ln1v frozen at other sigmas than ln1qk, differently per layer
        for (int l = 0; l < s.L; l++) ln.path(PATH_LN1V, l).sigma *= 0.6f + 0.5f * l;
        Run run = dla_of(c, p, ln, s.T, 4);
        REQUIRE(run.r.lnf_frozen);
        REQUIRE(run.r.names.size() == (size_t)(2 + s.L * (s.NH + 3)));
        REQUIRE(run.r.logits.size() == 4);
        // the engine's fp32 forward against the sum of double contributions
        CHECK(worst_sum_error(run.r) <= 1e-5 * run.scale);
        CHECK(run.r.nmae < 1e-9);
        // the contributions are not trivially zero: the largest carries real weight
        double biggest = 0;
        for (double x : run.r.logits[0].dla) biggest = std::max(biggest, std::fabs(x));
        CHECK(biggest > 0.05 * std::fabs(run.r.logits[0].logit));
    }
}

TEST_CASE("a frozen ln_f alone makes DLA exact, whatever the inner paths", "[dla]") {
    GPT2Config c = evaltest::tiny_config(2, 32, 4, 96, 16);
    std::vector<float> p = evaltest::random_params(c, 21);
    LNState ln(c.num_layers);  // inner paths REAL
    ln.path(PATH_LNF) = {true, 2.5f, 1.0f};
    Run run = dla_of(c, p, ln, 12, 3);
    CHECK(worst_sum_error(run.r) <= 1e-5 * run.scale);
    CHECK(run.r.nmae < 1e-9);
}

TEST_CASE("naive DLA on a model with real LayerNorm: sums to the logit, but is not the direct effect", "[dla]") {
    GPT2Config c = evaltest::tiny_config(3, 32, 4, 96, 24);
    std::vector<float> p = evaltest::random_params(c, 11);
    LNState real(c.num_layers);
    Run run = dla_of(c, p, real, 20, 5);
    REQUIRE_FALSE(run.r.lnf_frozen);
    // with the scale frozen at this input's value, ln_f is the same map: the sum still holds
    CHECK(worst_sum_error(run.r) <= 1e-5 * run.scale);
    // but taking one component out changes the std ln_f divides by: a clearly non-zero error
    CHECK(run.r.nmae > 0.05);
    // a model whose ln_f is frozen at a sigma that makes the same input's logits: exact again
    LNState frozen_f = real;
    frozen_f.path(PATH_LNF) = {true, (float)(1.0 / run.r.lnf_scale), 1.0f};
    Run again = dla_of(c, p, frozen_f, 20, 5);
    CHECK(again.r.nmae < 1e-9);
}

TEST_CASE("DLA refuses a token outside the vocabulary", "[dla]") {
    GPT2Config c = evaltest::tiny_config();
    std::vector<float> p = evaltest::random_params(c, 5);
    GPT2CPU m(c);
    m.set_parameters(p.data());
    LNState ln = evaltest::frozen_state(c.num_layers);
    m.set_ln_state(ln);
    int tok[3] = {1, 2, 3};
    m.forward(tok, nullptr, 1, 3);
    REQUIRE_THROWS_WITH(direct_logit_attribution(c, m.params(), ln, tok, dla_acts(m.core()), {c.vocab_size}),
                        Contains("outside the vocabulary"));
}

TEST_CASE("the folded export refuses what does not fold exactly", "[dla][export]") {
    GPT2Config c = evaltest::tiny_config();
    std::vector<float> p = evaltest::random_params(c, 1);
    LNState real(c.num_layers);
    REQUIRE_THROWS_WITH(fold_lnfree(c, p.data(), real), Contains("still REAL"));
    LNState bos = evaltest::frozen_state(c.num_layers);
    bos.bos_special = true;
    REQUIRE_THROWS_WITH(fold_lnfree(c, p.data(), bos), Contains("BOS special divisor"));
    LNState eot = evaltest::frozen_state(c.num_layers);
    eot.eot_special = true;
    REQUIRE_THROWS_WITH(fold_lnfree(c, p.data(), eot), Contains("EOT special divisor"));
    // a split ln_1 folds (into c_attn's column blocks)
    LNState split = evaltest::frozen_state(c.num_layers);
    split.path(PATH_LN1V, 1).sigma *= 1.3f;
    FoldedModel f = fold_lnfree(c, p.data(), split);
    REQUIRE(f.lm_head.size() == (size_t)c.vocab_size * c.channels);
    // every writer to the residual stream is mean-free: wte's rows, c_proj's columns
    const float* wte = f.params.data() + param_offset(c, P_WTE);
    for (int v = 0; v < c.vocab_size; v++) {
        double m = 0;
        for (int i = 0; i < c.channels; i++) m += wte[v * c.channels + i];
        CHECK(std::fabs(m) < 1e-5);
    }
}
