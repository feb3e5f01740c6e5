// io/debug_state: round trip with and without the noln trailer, and one Error per kind of
// bad file (each message must name the file).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "io/debug_state.h"
#include "host/error.h"

using namespace noln;

static GPT2Config cfg() {
    GPT2Config c;
    c.max_seq_len = 8;
    c.vocab_size = 5;
    c.padded_vocab_size = 8;
    c.num_layers = 1;
    c.num_heads = 1;
    c.channels = 4;
    return c;
}

static DebugState sample(bool trailer) {
    const GPT2Config c = cfg();
    DebugState s;
    s.B = 2;
    s.T = 3;
    s.x = {0, 1, 2, 3, 4, 0};
    s.y = {1, 2, -1, 4, 0, 1};
    for (int i = 0; i < 2 * 3 * c.vocab_size; i++) s.logits.push_back(0.25f * i);
    s.loss = 1.5f;
    for (size_t i = 0; i < num_parameters(c); i++) s.grads.push_back(0.001f * (float)i);
    if (trailer) {
        s.has_trailer = true;
        s.aux_lambda = 0.1f;
        s.ce = 1.4f;
        s.aux = 0.1f;
        s.adamw.lr = 1e-3f;
        s.adamw.weight_decay = 0.01f;
        s.step_losses = {1.5f, 1.2f, 0.9f};
    }
    return s;
}

static std::string tmp(const char* name) { return std::string("build/tests/debug_state_") + name; }

static std::vector<char> slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
static void spit(const std::string& p, const std::vector<char>& b) {
    std::ofstream f(p, std::ios::binary);
    f.write(b.data(), b.size());
}

// The Error for `bytes`, which must name the file and contain `what`.
static void expect_error(const std::string& path, const std::vector<char>& bytes, const char* what,
                         GPT2Config c = cfg()) {
    spit(path, bytes);
    try {
        read_debug_state(path, c);
        FAIL("no error for " << what);
    } catch (const Error& e) {
        std::string m = e.what();
        INFO(m);
        CHECK(m.find(path) != std::string::npos);
        CHECK(m.find(what) != std::string::npos);
    }
}

TEST_CASE("debug state round trip, with and without the noln trailer", "[debug_state]") {
    for (bool trailer : {false, true}) {
        const std::string p = tmp(trailer ? "rt_trailer.bin" : "rt_plain.bin");
        DebugState s = sample(trailer);
        write_debug_state(p, cfg(), s);
        const size_t base = 1024 + 2 * 6 * 4 + 6 * 5 * 4 + 4 + num_parameters(cfg()) * 4;
        CHECK(slurp(p).size() == base + (trailer ? 128 + 3 * 4 : 0));
        DebugState r = read_debug_state(p, cfg());
        CHECK(r.B == 2);
        CHECK(r.T == 3);
        CHECK(r.x == s.x);
        CHECK(r.y == s.y);
        CHECK(r.logits == s.logits);
        CHECK(r.loss == s.loss);
        CHECK(r.grads == s.grads);
        CHECK(r.has_trailer == trailer);
        if (trailer) {
            CHECK(r.aux_lambda == 0.1f);
            CHECK(r.ce == 1.4f);
            CHECK(r.aux == 0.1f);
            CHECK(r.adamw.lr == 1e-3f);
            CHECK(r.adamw.beta2 == 0.95f);
            CHECK(r.adamw.weight_decay == 0.01f);
            CHECK(r.step_losses == s.step_losses);
        }
    }
}

TEST_CASE("debug state: bad files are Errors naming the file and the problem", "[debug_state]") {
    const std::string good = tmp("good.bin"), bad = tmp("bad.bin");
    write_debug_state(good, cfg(), sample(true));
    const std::vector<char> g = slurp(good);
    auto set_int = [](std::vector<char> b, size_t word, int v) {
        std::memcpy(b.data() + 4 * word, &v, 4);
        return b;
    };
    const size_t base = 1024 + 2 * 6 * 4 + 6 * 5 * 4 + 4 + num_parameters(cfg()) * 4;
    SECTION("missing file") {
        CHECK_THROWS_AS(read_debug_state(tmp("does_not_exist.bin"), cfg()), Error);
    }
    SECTION("wrong magic") { expect_error(bad, set_int(g, 0, 20240326), "magic"); }
    SECTION("wrong version") { expect_error(bad, set_int(g, 1, 1), "version"); }
    SECTION("impossible B/T") { expect_error(bad, set_int(g, 3, 9), "T=9"); }
    SECTION("truncated header") { expect_error(bad, std::vector<char>(g.begin(), g.begin() + 100), "truncated"); }
    SECTION("truncated body") { expect_error(bad, std::vector<char>(g.begin(), g.begin() + base - 4), "truncated"); }
    SECTION("sizes for another model") {
        GPT2Config other = cfg();
        other.channels = 8;  // more parameters than the file holds
        expect_error(bad, g, "truncated", other);
    }
    SECTION("input token outside the vocabulary") { expect_error(bad, set_int(g, 256 + 2, 5), "input token 5"); }
    SECTION("target token outside the vocabulary") { expect_error(bad, set_int(g, 256 + 6 + 1, 7), "target token 7"); }
    SECTION("garbage instead of a trailer") {
        std::vector<char> b(g.begin(), g.begin() + base);
        b.resize(base + 64, 1);
        expect_error(bad, b, "no noln trailer");
    }
    SECTION("trailer version") { expect_error(bad, set_int(g, base / 4 + 1, 9), "trailer version 9"); }
    SECTION("trailer step count") { expect_error(bad, set_int(g, base / 4 + 2, -3), "step count"); }
    SECTION("truncated trailer") { expect_error(bad, std::vector<char>(g.begin(), g.end() - 4), "truncated"); }
    SECTION("bytes after the trailer") {
        std::vector<char> b = g;
        b.resize(g.size() + 4, 0);
        expect_error(bad, b, "trailing bytes");
    }
}

TEST_CASE("debug state writer refuses inconsistent sizes", "[debug_state]") {
    DebugState s = sample(false);
    s.grads.pop_back();
    CHECK_THROWS_AS(write_debug_state(tmp("inconsistent.bin"), cfg(), s), Error);
}
