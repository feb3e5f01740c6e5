// LN-free export (eval/export_hf.h): the refusals, the eps-trick parameters, the exact fold
// of split ln_1 divisors, and the files written. The logit round trip through PyTorch is
// in tests/suites/56-export-roundtrip.sh.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "host/error.h"
#include "eval/export_hf.h"
#include "io/file_io.h"
#include "io/hf_gpt2.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "tests/eval/eval_util.h"

using namespace noln;
using Catch::Matchers::Contains;

static std::string tmp_dir(const char* name) {
    std::string d = "build/tests/eval/tmp/" + std::string(name);
    make_dirs(d);
    return d;
}

TEST_CASE("export refuses states a stock HF GPT-2 cannot express", "[export]") {
    GPT2Config c = evaltest::tiny_config();
    std::vector<float> p = evaltest::random_params(c, 1);
    std::string dir = tmp_dir("refuse");
    std::remove((dir + "/config.json").c_str());

    LNState real(c.num_layers);  // everything REAL
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), real), Contains("still REAL"));

    LNState one_real = evaltest::frozen_state(c.num_layers);
    one_real.path(PATH_LN1V, 1).frozen = false;
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), one_real), Contains("ln1v 1/2"));
    LNState lnf_real = evaltest::frozen_state(c.num_layers);
    lnf_real.path(PATH_LNF).frozen = false;
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), lnf_real), Contains("lnf 0/1"));

    LNState bos = evaltest::frozen_state(c.num_layers);
    bos.bos_special = true;
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), bos), Contains("BOS special divisor"));
    LNState eot = evaltest::frozen_state(c.num_layers);
    eot.eot_special = true;
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), eot), Contains("EOT special divisor"));

    LNState split = evaltest::frozen_state(c.num_layers);
    split.path(PATH_LN1V, 1).sigma *= 1.25f;
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), split), Contains("layer 1 has ln1qk sigma"));
    // the fold option accepts exactly that case, and still refuses the others
    ExportOptions fold;
    fold.fold_ln1_split = true;
    REQUIRE_NOTHROW(lnfree_hf_params(c, p.data(), split, fold));
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), bos, fold), Contains("BOS"));

    LNState zero = evaltest::frozen_state(c.num_layers);
    zero.path(PATH_LN2, 0).sigma = 0.0f;
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), zero), Contains("ln2[0] has frozen sigma 0"));
    LNState nan = evaltest::frozen_state(c.num_layers);
    nan.path(PATH_LNF).sigma = NAN;
    REQUIRE_THROWS_WITH(export_hf_lnfree(dir, c, p.data(), nan), Contains("lnf has frozen sigma"));

    // nothing was written by any refused export
    REQUIRE_FALSE(file_exists(dir + "/config.json"));
    REQUIRE_FALSE(file_exists(dir + "/model.safetensors"));
}

TEST_CASE("eps trick: every gamma times 1e6/sigma, everything else untouched", "[export]") {
    GPT2Config c = evaltest::tiny_config();
    std::vector<float> p = evaltest::random_params(c, 2);
    LNState s = evaltest::frozen_state(c.num_layers);
    std::vector<float> q = lnfree_hf_params(c, p.data(), s);
    REQUIRE(q.size() == p.size());
    const int C = c.channels;
    auto expect_scaled = [&](int t, int l, float sigma) {
        size_t o = param_offset(c, t) + (size_t)l * C;
        for (int i = 0; i < C; i++) {
            double want = (double)p[o + i] * 1e6 / (double)sigma;
            REQUIRE(q[o + i] == Approx(want).epsilon(1e-6));
        }
    };
    for (int l = 0; l < c.num_layers; l++) {
        expect_scaled(P_LN1W, l, s.path(PATH_LN1QK, l).sigma);
        expect_scaled(P_LN2W, l, s.path(PATH_LN2, l).sigma);
    }
    expect_scaled(P_LNFW, 0, s.path(PATH_LNF).sigma);
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(c, sizes);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        if (t == P_LN1W || t == P_LN2W || t == P_LNFW) continue;
        size_t o = param_offset(c, t);
        for (size_t i = 0; i < sizes[t]; i++) REQUIRE(q[o + i] == p[o + i]);
    }
}

// The largest |logit| of a's last forward and the largest difference from b's (n logits).
struct LogitGap {
    double maxabs = 0, maxdiff = 0;
};
static LogitGap logit_gap(const GPT2CPU& a, const GPT2CPU& b, size_t n) {
    std::vector<float> la(n), lb(n);
    a.get_logits(la.data());
    b.get_logits(lb.data());
    LogitGap g;
    for (size_t i = 0; i < n; i++) {
        g.maxabs = std::max(g.maxabs, (double)std::fabs(la[i]));
        g.maxdiff = std::max(g.maxdiff, (double)std::fabs(la[i] - lb[i]));
    }
    return g;
}

// The engine computing (x-mean)/1e6 * (gamma*1e6/s) + beta with the exported parameters is
// the HF model up to var/2e12; it must match the engine with the original parameters and
// divisors. With a split ln_1 this checks the fold of s_qk/s_v into the V columns.
static void check_exported_matches_engine(const LNState& s, const ExportOptions& o) {
    GPT2Config c = evaltest::tiny_config(3, 16, 2, 64, 16);
    std::vector<float> p = evaltest::random_params(c, 3);
    std::vector<float> q = lnfree_hf_params(c, p.data(), s, o);
    LNState hf(c.num_layers);  // what an HF ln module does with eps = 1e12, in our terms
    for (int l = 0; l < c.num_layers; l++) hf.path(PATH_LN2, l) = hf.path(PATH_LN1QK, l) = hf.path(PATH_LN1V, l) = {true, 1e6f, 1.0f};
    hf.path(PATH_LNF) = {true, 1e6f, 1.0f};

    const int B = 2, T = 12, V = c.vocab_size;
    std::vector<int> tok(B * T);
    for (int i = 0; i < B * T; i++) tok[i] = (i * 37 + 11) % V;
    GPT2CPU a(c), b(c);
    a.set_parameters(p.data());
    a.set_ln_state(s);
    b.set_parameters(q.data());
    b.set_ln_state(hf);
    a.forward(tok.data(), nullptr, B, T);
    b.forward(tok.data(), nullptr, B, T);
    const LogitGap g = logit_gap(a, b, (size_t)B * T * V);
    INFO("max |logit| " << g.maxabs << ", max |diff| " << g.maxdiff);
    REQUIRE(g.maxabs > 1.0);  // the model is not trivially flat
    REQUIRE(g.maxdiff <= 1e-4 * g.maxabs);
}

TEST_CASE("exported parameters reproduce the engine's frozen model", "[export]") {
    LNState s = evaltest::frozen_state(3);
    check_exported_matches_engine(s, ExportOptions());
}

TEST_CASE("fold_ln1_split folds s_qk/s_v into the V columns exactly", "[export]") {
    LNState s = evaltest::frozen_state(3);
    s.path(PATH_LN1V, 0).sigma *= 1.7f;
    s.path(PATH_LN1V, 2).sigma *= 0.6f;
    ExportOptions o;
    o.fold_ln1_split = true;
    check_exported_matches_engine(s, o);
    // and without the fold the V path would be wrong: the check above must be able to fail
    LNState wrong = s;
    for (int l = 0; l < 3; l++) wrong.path(PATH_LN1V, l).sigma = wrong.path(PATH_LN1QK, l).sigma;
    GPT2Config c = evaltest::tiny_config(3, 16, 2, 64, 16);
    std::vector<float> p = evaltest::random_params(c, 3);
    GPT2CPU a(c), b(c);
    a.set_parameters(p.data());
    a.set_ln_state(s);
    b.set_parameters(p.data());
    b.set_ln_state(wrong);
    std::vector<int> tok(12);
    for (int i = 0; i < 12; i++) tok[i] = (i * 37 + 11) % 64;
    a.forward(tok.data(), nullptr, 1, 12);
    b.forward(tok.data(), nullptr, 1, 12);
    std::vector<float> la(12 * 64), lb(12 * 64);
    a.get_logits(la.data());
    b.get_logits(lb.data());
    double d = 0;
    for (size_t i = 0; i < la.size(); i++) d = std::max(d, (double)std::fabs(la[i] - lb[i]));
    REQUIRE(d > 1e-2);
}

TEST_CASE("export writes config.json with eps 1e12 and the scaled gammas", "[export]") {
    GPT2Config c = evaltest::tiny_config();
    std::vector<float> p = evaltest::random_params(c, 4);
    LNState s = evaltest::frozen_state(c.num_layers);
    std::string dir = tmp_dir("write");
    export_hf_lnfree(dir, c, p.data(), s);

    Json cfg = read_json_file(dir + "/config.json");
    REQUIRE(json_number(json_member(cfg, "layer_norm_epsilon", "config"), "eps", "config") == 1e12);
    REQUIRE(json_int(json_member(cfg, "n_layer", "config"), "n_layer", "config") == c.num_layers);
    REQUIRE(json_int(json_member(cfg, "n_embd", "config"), "n_embd", "config") == c.channels);

    SafetensorsFile st = read_safetensors(dir + "/model.safetensors");
    auto find = [&](const std::string& name) {
        const SafeTensor* t = st.find(name);
        if (!t) t = st.find("transformer." + name);
        REQUIRE(t != nullptr);
        return st.read_f32(*t);
    };
    const int C = c.channels;
    std::vector<float> g1 = find("h.1.ln_1.weight"), b1 = find("h.1.ln_1.bias"), gf = find("ln_f.weight");
    REQUIRE((int)g1.size() == C);
    for (int i = 0; i < C; i++) {
        REQUIRE(g1[i] == Approx((double)p[param_offset(c, P_LN1W) + C + i] * 1e6 / s.path(PATH_LN1QK, 1).sigma).epsilon(1e-6));
        REQUIRE(b1[i] == p[param_offset(c, P_LN1B) + C + i]);
        REQUIRE(gf[i] == Approx((double)p[param_offset(c, P_LNFW) + i] * 1e6 / s.path(PATH_LNF).sigma).epsilon(1e-6));
    }
}

TEST_CASE("write_logits_ref writes header, tokens and the model's logits", "[export]") {
    GPT2Config c = evaltest::tiny_config();
    std::vector<float> p = evaltest::random_params(c, 5);
    GPT2CPU m(c);
    m.set_parameters(p.data());
    const int B = 2, T = 5, V = c.vocab_size;
    std::vector<int> tok = {1, 2, 3, 4, 5, 60, 61, 62, 63, 0};
    std::string path = tmp_dir("ref") + "/x.ref";
    write_logits_ref(path, m, tok.data(), B, T);
    std::string raw = read_file(path);
    REQUIRE(raw.size() == 16 + 4 * (size_t)B * T + 4 * (size_t)B * T * V);
    const int32_t* h = (const int32_t*)raw.data();
    REQUIRE(h[0] == 20250603);
    REQUIRE(h[1] == B);
    REQUIRE(h[2] == T);
    REQUIRE(h[3] == V);
    for (int i = 0; i < B * T; i++) REQUIRE(h[4 + i] == tok[i]);
    m.forward(tok.data(), nullptr, B, T);
    std::vector<float> lg((size_t)B * T * V);
    m.get_logits(lg.data());
    REQUIRE(std::memcmp(raw.data() + 16 + 4 * B * T, lg.data(), lg.size() * 4) == 0);
}

// docs/export.md "Importing an LN-free folder": our own export, with mixed sigmas and a split
// ln_1 folded, read back by read_hf_gpt2 is a FROZEN model that computes the same logits and
// loss as the engine's original (within fp32 rounding); the sigmas come back from config.json.
TEST_CASE("an LN-free export re-imports FROZEN with its sigmas: same logits and loss", "[export][import]") {
    GPT2Config c = evaltest::tiny_config(3, 16, 2, 64, 16);
    std::vector<float> p = evaltest::random_params(c, 6);
    LNState s = evaltest::frozen_state(3);
    s.path(PATH_LN1V, 0).sigma *= 1.7f;  // split ln_1: folded into the V columns
    s.path(PATH_LN1V, 2).sigma *= 0.6f;
    s.path(PATH_LN2, 1).sigma *= 3.0f;
    ExportOptions o;
    o.fold_ln1_split = true;
    std::string dir = tmp_dir("reimport");
    export_hf_lnfree(dir, c, p.data(), s, o);

    double eps = 0;
    ModelFile f = read_hf_gpt2(dir, &eps);
    REQUIRE(eps == 1e12);
    REQUIRE(f.has_ln_state);
    REQUIRE(f.ln.all_frozen());
    REQUIRE_FALSE(f.ln.bos_special);
    for (int l = 0; l < 3; l++) {
        CHECK(f.ln.path(PATH_LN2, l).sigma == s.path(PATH_LN2, l).sigma);
        CHECK(f.ln.path(PATH_LN1QK, l).sigma == s.path(PATH_LN1QK, l).sigma);
        CHECK(f.ln.path(PATH_LN1V, l).sigma == s.path(PATH_LN1QK, l).sigma);  // ln_1 holds qk's
    }
    CHECK(f.ln.path(PATH_LNF).sigma == s.path(PATH_LNF).sigma);

    const int B = 2, T = 12, V = c.vocab_size;
    std::vector<int> tok(B * T), tgt(B * T);
    for (int i = 0; i < B * T; i++) tok[i] = (i * 37 + 11) % V, tgt[i] = (i * 53 + 5) % V;
    GPT2CPU a(c), b(f);
    a.set_parameters(p.data());
    a.set_ln_state(s);
    ForwardResult ra = a.forward(tok.data(), tgt.data(), B, T);
    ForwardResult rb = b.forward(tok.data(), tgt.data(), B, T);
    const LogitGap g = logit_gap(a, b, (size_t)B * T * V);
    INFO("max |logit| " << g.maxabs << ", max |diff| " << g.maxdiff << ", loss " << ra.ce << " vs " << rb.ce);
    REQUIRE(g.maxabs > 1.0);
    REQUIRE(g.maxdiff <= 1e-5 * g.maxabs);
    REQUIRE(rb.ce == Approx(ra.ce).epsilon(1e-6));
    // the same folder read as all-REAL LayerNorms (what the importer did before) is far off
    GPT2CPU r(c);
    r.set_parameters(f.params.data());
    REQUIRE(std::fabs(r.forward(tok.data(), tgt.data(), B, T).ce - ra.ce) > 0.1);
}

TEST_CASE("LN-free import refuses what it cannot interpret exactly", "[export][import]") {
    GPT2Config c = evaltest::tiny_config();
    std::vector<float> p = evaltest::random_params(c, 7);
    std::string dir = tmp_dir("reimport_bad");
    export_hf_lnfree(dir, c, p.data(), evaltest::frozen_state(c.num_layers));
    const std::string cfg = dir + "/config.json", good = read_file(cfg);
    auto with = [&](const std::string& from, const std::string& to) {
        std::string t = good;
        const size_t at = t.find(from);
        REQUIRE(at != std::string::npos);
        t.replace(at, from.size(), to);
        write_file_atomic(cfg, t.data(), t.size());
    };
    with("\"layer_norm_epsilon\": 1e+12", "\"layer_norm_epsilon\": 1e-06");
    REQUIRE_THROWS_WITH(read_hf_gpt2(dir), Contains("config.json") && Contains("layer_norm_epsilon 1e-06 is neither"));
    with("\"ln1v\": [", "\"ln1v\": [2, ");
    REQUIRE_THROWS_WITH(read_hf_gpt2(dir), Contains("noln_ln_sigmas.ln1v must be an array of 2 sigmas"));
    with("\"lnf\": [", "\"lnf\": [-");
    REQUIRE_THROWS_WITH(read_hf_gpt2(dir), Contains("noln_ln_sigmas.lnf[0]"));
    with("\"ln1v\": [", "\"ln1v\": [1");  // a different ln1v sigma: HF has one ln_1
    REQUIRE_THROWS_WITH(read_hf_gpt2(dir), Contains("ln1qk sigma") && Contains("must be equal"));
    with("\"ln2\":", "\"ln3\":");
    REQUIRE_THROWS_WITH(read_hf_gpt2(dir), Contains("unknown path kind \"ln3\""));
    write_file_atomic(cfg, good.data(), good.size());
    REQUIRE_NOTHROW(read_hf_gpt2(dir));
}
