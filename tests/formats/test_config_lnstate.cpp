// Unit tests for the shared helpers host/gpt2_config.cpp and host/ln_state.cpp.
#include "host/gpt2_config.h"
#include "host/ln_paths.h"
#include "tests/formats/test_util.h"

using namespace noln;

TEST_CASE("gpt2_config: GPT-2 124M with padded vocab has 124,475,904 parameters", "[gpt2_config]") {
    GPT2Config c = gpt2_config_for_depth(12);
    CHECK(c.channels == 768);
    CHECK(c.num_heads == 12);
    CHECK(c.max_seq_len == 1024);
    CHECK(c.vocab_size == 50257);
    CHECK(c.padded_vocab_size == 50304);
    CHECK(num_parameters(c) == 124475904u);
    CHECK_NOTHROW(validate_config(c, "d12"));
}

TEST_CASE("gpt2_config: tensor sizes and offsets in llm.c order", "[gpt2_config]") {
    GPT2Config c;
    c.max_seq_len = 8; c.vocab_size = 10; c.padded_vocab_size = 16;
    c.num_layers = 3; c.num_heads = 2; c.channels = 4;
    size_t s[NUM_PARAM_TENSORS];
    param_sizes(c, s);
    const size_t want[NUM_PARAM_TENSORS] = {64, 32, 12, 12, 144, 36, 48, 12, 12, 12, 192, 48, 192, 12, 4, 4};
    size_t off = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        INFO(PARAM_NAMES[t]);
        CHECK(s[t] == want[t]);
        CHECK(param_offset(c, t) == off);
        off += want[t];
    }
    CHECK(num_parameters(c) == off);
    CHECK(std::string(PARAM_NAMES[P_QKVW]) == "qkvw");
    CHECK(std::string(PARAM_NAMES[P_LNFB]) == "lnfb");
    for (int t : {P_WTE, P_WPE, P_QKVW, P_ATTPROJW, P_FCW, P_FCPROJW}) CHECK(param_is_decayed(t));
    for (int t : {P_LN1W, P_LN1B, P_QKVB, P_ATTPROJB, P_LN2W, P_LN2B, P_FCB, P_FCPROJB, P_LNFW, P_LNFB})
        CHECK_FALSE(param_is_decayed(t));
    // per layer: exactly the tensors whose size above carries the factor L
    for (int t : {P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_ATTPROJW, P_ATTPROJB, P_LN2W, P_LN2B, P_FCW, P_FCB, P_FCPROJW,
                  P_FCPROJB})
        CHECK(param_is_per_layer(t));
    for (int t : {P_WTE, P_WPE, P_LNFW, P_LNFB}) CHECK_FALSE(param_is_per_layer(t));
}

TEST_CASE("gpt2_config: depth presets", "[gpt2_config]") {
    CHECK(gpt2_config_for_depth(24).channels == 1024);
    CHECK(gpt2_config_for_depth(24).num_heads == 16);
    CHECK(gpt2_config_for_depth(36).channels == 1280);
    CHECK(gpt2_config_for_depth(36).num_heads == 20);
    CHECK(gpt2_config_for_depth(48).channels == 1600);
    CHECK(gpt2_config_for_depth(48).num_heads == 25);
    GPT2Config d2 = gpt2_config_for_depth(2, 64, 100, 128);
    CHECK(d2.channels == 128);
    CHECK(d2.num_heads == 2);
    CHECK(d2.max_seq_len == 64);
    CHECK(d2.padded_vocab_size == 128);
}

TEST_CASE("gpt2_config: validate_config names the source and the problem", "[gpt2_config]") {
    GPT2Config ok = gpt2_config_for_depth(2, 16, 100, 128);
    CHECK_NOTHROW(validate_config(ok, "x"));
    GPT2Config c = ok; c.channels = 0;
    REQUIRE_THROWS_WITH(validate_config(c, "m.bin"), NAMES("m.bin", "must be positive"));
    c = ok; c.max_seq_len = -1;
    REQUIRE_THROWS_WITH(validate_config(c, "m.bin"), NAMES("m.bin", "must be positive"));
    c = ok; c.padded_vocab_size = 99;
    REQUIRE_THROWS_WITH(validate_config(c, "m.bin"), NAMES("m.bin", "padded_vocab_size 99 is smaller than vocab_size 100"));
    c = ok; c.num_heads = 3;
    REQUIRE_THROWS_WITH(validate_config(c, "m.bin"), NAMES("m.bin", "not divisible by num_heads 3"));
    c = ok; c.channels = 1 << 30; c.num_heads = 1; c.num_layers = 1 << 20;
    REQUIRE_THROWS_WITH(validate_config(c, "m.bin"), NAMES("m.bin", "overflows"));
}

TEST_CASE("ln_state: paths, counts and the split rule", "[ln_state]") {
    CHECK(std::string(PATH_KINDS[PATH_LN2].name) == "ln2");
    CHECK(std::string(PATH_KINDS[PATH_LN1QK].name) == "ln1qk");
    CHECK(std::string(PATH_KINDS[PATH_LN1V].name) == "ln1v");
    CHECK(std::string(PATH_KINDS[PATH_LNF].name) == "lnf");
    LNState s(3);
    CHECK(s.num_layers() == 3);
    CHECK(s.paths_in(PATH_LN2) == 3);
    CHECK(s.paths_in(PATH_LNF) == 1);
    CHECK(s.all_real());
    CHECK_FALSE(s.all_frozen());
    s.path(PATH_LN2, 1).frozen = true;
    CHECK(s.path(PATH_LN2, 1).frozen);
    CHECK(s.frozen_count(PATH_LN2) == 1);
    CHECK_FALSE(s.all_real());
    s.path(PATH_LNF, 7).frozen = true;  // layer ignored for lnf
    CHECK(s.path(PATH_LNF).frozen);
    CHECK_THROWS(s.path(PATH_LN1QK, 3));
    for (int k = 0; k < NUM_PATH_KINDS; k++)
        for (int l = 0; l < s.paths_in((PathKind)k); l++) s.path((PathKind)k, l).frozen = true;
    CHECK(s.all_frozen());
    CHECK(s.frozen_count(PATH_LN1V) == 3);
    // split: both frozen with equal divisors -> not split; differing sigma -> split
    CHECK_FALSE(s.ln1_split(0));
    s.path(PATH_LN1V, 0).sigma = 2.0f;
    CHECK(s.ln1_split(0));
    s.path(PATH_LN1V, 0).sigma = 1.0f;
    s.path(PATH_LN1V, 0).sigma_bos = 3.0f;
    CHECK(s.ln1_split(0));
    s.path(PATH_LN1V, 0).sigma_bos = 1.0f;
    s.eot_special = true;  // EOT rule touches ln1v only
    CHECK(s.ln1_split(0));
    s.eot_special = false;
    s.path(PATH_LN1V, 2).frozen = false;  // one frozen, one real
    CHECK(s.ln1_split(2));
    s.path(PATH_LN1QK, 2).frozen = false;
    s.path(PATH_LN1QK, 2).sigma = 5.0f;  // both real: sigmas do not matter
    CHECK_FALSE(s.ln1_split(2));
    const LNState& cs = s;
    CHECK(&cs.path(PATH_LN1QK, 2) == &s.path(PATH_LN1QK, 2));
}

TEST_CASE("ln_paths: the path order and the site order", "[ln_state]") {
    // path order: ln2[0..L-1], ln1qk[0..L-1], ln1v[0..L-1], lnf (the file formats' order)
    const int L = 3;
    REQUIRE(num_paths(L) == 3 * L + 1);
    const char* want[] = {"ln2[0]", "ln2[1]", "ln2[2]", "ln1qk[0]", "ln1qk[1]", "ln1qk[2]",
                          "ln1v[0]", "ln1v[1]", "ln1v[2]", "lnf"};
    for (int i = 0; i < num_paths(L); i++) {
        INFO("path " << i);
        const PathId p = path_at(i, L);
        CHECK(path_label(p) == want[i]);
        CHECK(path_index(p.kind, p.layer, L) == i);
    }
    // site order: ln1[0], ln2[0], ln1[1], ln2[1], ..., lnf (the training state's EMA order)
    REQUIRE(num_sites(L) == 2 * L + 1);
    for (int l = 0; l < L; l++) {
        CHECK(site_index(SITE_LN1, l, L) == 2 * l);
        CHECK(site_index(SITE_LN2, l, L) == 2 * l + 1);
        CHECK(site_of(PATH_LN1QK, l, L) == 2 * l);
        CHECK(site_of(PATH_LN1V, l, L) == 2 * l);
        CHECK(site_of(PATH_LN2, l, L) == 2 * l + 1);
    }
    CHECK(site_index(SITE_LNF, 0, L) == 2 * L);
    CHECK(site_of(PATH_LNF, 0, L) == 2 * L);
    SigmaObs o(L);
    CHECK_THROWS(o.at(SITE_LN2, L));
    CHECK(&o.at(SITE_LNF, 5) == &o.sites.back());  // layer ignored for lnf
}

TEST_CASE("ln_paths: the frozen divisor rule", "[ln_state]") {
    LNState s(2);
    s.eot_token = 7;
    s.path(PATH_LN1QK, 1) = {true, 2.0f, 5.0f};
    s.path(PATH_LN1V, 1) = {true, 3.0f, 6.0f};
    const int qk = path_index(PATH_LN1QK, 1, 2), v = path_index(PATH_LN1V, 1, 2);
    // no special on: sigma everywhere
    CHECK(ln_frozen_divisor(ln_path_params(s, qk), 0, 7) == 2.0f);
    CHECK(ln_frozen_divisor(ln_path_params(s, v), 0, 7) == 3.0f);
    // BOS: position 0 of every path uses sigma_bos
    s.bos_special = true;
    CHECK(ln_frozen_divisor(ln_path_params(s, qk), 0, 1) == 5.0f);
    CHECK(ln_frozen_divisor(ln_path_params(s, qk), 1, 1) == 2.0f);
    // EOT: only the path kinds with the EOT rule (ln1v), any position
    s.bos_special = false;
    s.eot_special = true;
    CHECK(ln_frozen_divisor(ln_path_params(s, qk), 3, 7) == 2.0f);
    CHECK(ln_frozen_divisor(ln_path_params(s, v), 3, 7) == 6.0f);
    CHECK(ln_frozen_divisor(ln_path_params(s, v), 3, 6) == 3.0f);
    CHECK(ln_frozen_divisor(ln_path_params(s, v), 3, -1) == 3.0f);  // token unknown
    CHECK(ln_path_params(s, qk).eot_special == 0);
    CHECK(ln_path_params(s, v).eot_special == 1);
}
