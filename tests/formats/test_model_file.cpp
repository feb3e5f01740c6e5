#include <cmath>
#include <cstring>
#include <random>

#include "io/model_file.h"
#include "tests/formats/test_util.h"

using namespace noln;
using namespace testutil;

namespace {

GPT2Config tiny() {
    GPT2Config c;
    c.max_seq_len = 8;
    c.vocab_size = 10;
    c.padded_vocab_size = 16;
    c.num_layers = 2;
    c.num_heads = 2;
    c.channels = 4;
    return c;
}

// Parameter count of tiny() by hand: wte 16*4 + wpe 8*4 + L*(12C^2 + 13C) + 2C
const size_t TINY_N = 64 + 32 + 2 * (12 * 16 + 13 * 4) + 8;

std::vector<float> random_params(size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> p(n);
    for (auto& x : p) x = d(g);
    return p;
}

std::string model_header(int version, const GPT2Config& c) {
    return header_bytes({20240326, version, c.max_seq_len, c.vocab_size, c.num_layers,
                         c.num_heads, c.channels, c.padded_vocab_size});
}

std::string fp32_body(const std::vector<float>& p) {
    return std::string((const char*)p.data(), p.size() * 4);
}

// A trailer built by hand from the documented layout.
std::string trailer_bytes(int L, int flags, int eot, const std::vector<int>& frozen,
                          const std::vector<float>& sigma, const std::vector<float>& sbos,
                          int magic = 20241120, int nrec = -1, int version = 1) {
    std::string s = header_bytes({magic, version, L, flags, eot, nrec < 0 ? 3 * L + 1 : nrec});
    for (int i = 0; i < 3 * L + 1; i++) {
        append<int32_t>(s, frozen[i]);
        append<float>(s, sigma[i]);
        append<float>(s, sbos[i]);
    }
    return s;
}

}  // namespace

TEST_CASE("model_file: tiny config parameter count matches the hand count", "[model_file]") {
    REQUIRE(num_parameters(tiny()) == TINY_N);
}

TEST_CASE("model_file: v3 write is byte-exact llm.c layout and reads back", "[model_file]") {
    TempDir td;
    GPT2Config c = tiny();
    auto p = random_params(TINY_N, 1);
    std::string path = td.file("m.bin");
    write_model_file(path, c, p.data(), 3, nullptr);
    std::string bytes = read_bytes(path);
    REQUIRE(bytes == model_header(3, c) + fp32_body(p));
    ModelFile m = read_model_file(path);
    CHECK(m.version == 3);
    CHECK(m.config.num_layers == 2);
    CHECK(m.config.padded_vocab_size == 16);
    CHECK(m.params == p);
    CHECK_FALSE(m.has_ln_state);
    CHECK(m.ln.num_layers() == 2);
    CHECK(m.ln.all_real());
    // no temporary left behind
    CHECK(glob_count(td.path) == 1);
}

TEST_CASE("model_file: an llm.c file made by hand loads with all paths REAL", "[model_file]") {
    TempDir td;
    GPT2Config c = tiny();
    auto p = random_params(TINY_N, 2);
    write_bytes(td.file("llmc.bin"), model_header(3, c) + fp32_body(p));
    ModelFile m = read_model_file(td.file("llmc.bin"));
    CHECK(m.params == p);
    CHECK_FALSE(m.has_ln_state);
    CHECK(m.ln.all_real());
    // bf16 by hand: 1.0 = 0x3F80, -2.0 = 0xC000, 0.5 = 0x3F00
    std::string body;
    for (size_t i = 0; i < TINY_N; i++) append<uint16_t>(body, i % 3 == 0 ? 0x3F80 : i % 3 == 1 ? 0xC000 : 0x3F00);
    write_bytes(td.file("llmc5.bin"), model_header(5, c) + body);
    ModelFile m5 = read_model_file(td.file("llmc5.bin"));
    CHECK(m5.version == 5);
    CHECK(m5.params[0] == 1.0f);
    CHECK(m5.params[1] == -2.0f);
    CHECK(m5.params[TINY_N - 1] == ((TINY_N - 1) % 3 == 0 ? 1.0f : (TINY_N - 1) % 3 == 1 ? -2.0f : 0.5f));
}

TEST_CASE("model_file: bf16 rounds to nearest even", "[model_file][bf16]") {
    auto bits = [](uint32_t u) { float f; memcpy(&f, &u, 4); return f; };
    CHECK(float_to_bf16(1.0f) == 0x3F80);
    CHECK(float_to_bf16(bits(0x3F808000)) == 0x3F80);  // tie, kept bit even -> down
    CHECK(float_to_bf16(bits(0x3F818000)) == 0x3F82);  // tie, kept bit odd -> up
    CHECK(float_to_bf16(bits(0x3F808001)) == 0x3F81);  // above the tie -> up
    CHECK(float_to_bf16(bits(0x3F807FFF)) == 0x3F80);  // below the tie -> down
    CHECK(float_to_bf16(bits(0xBF818000)) == 0xBF82);  // sign kept
    CHECK(float_to_bf16(INFINITY) == 0x7F80);
    CHECK(float_to_bf16(bits(0x7F7FFFFF)) == 0x7F80);  // max float rounds to inf
    CHECK(std::isnan(bf16_to_float(float_to_bf16(NAN))));
    CHECK(bf16_to_float(0x4049) == bits(0x40490000));
}

TEST_CASE("model_file: v5 write stores bf16 and reads back rounded", "[model_file][bf16]") {
    TempDir td;
    GPT2Config c = tiny();
    std::vector<float> p(TINY_N, 0.0f);
    auto bits = [](uint32_t u) { float f; memcpy(&f, &u, 4); return f; };
    p[0] = bits(0x3F818000);  // -> 0x3F82
    p[1] = bits(0x3F808000);  // -> 0x3F80
    p[2] = -3.0f;             // -> 0xC040
    write_model_file(td.file("m5.bin"), c, p.data(), 5, nullptr);
    std::string bytes = read_bytes(td.file("m5.bin"));
    REQUIRE(bytes.size() == 1024 + 2 * TINY_N);
    REQUIRE(bytes.substr(0, 1024) == model_header(5, c));
    uint16_t b[3];
    memcpy(b, bytes.data() + 1024, 6);
    CHECK(b[0] == 0x3F82);
    CHECK(b[1] == 0x3F80);
    CHECK(b[2] == 0xC040);
    ModelFile m = read_model_file(td.file("m5.bin"));
    CHECK(m.params[0] == bits(0x3F820000));
    CHECK(m.params[2] == -3.0f);
    CHECK(m.params[3] == 0.0f);
}

TEST_CASE("model_file: LN trailer layout and round trip", "[model_file][trailer]") {
    TempDir td;
    GPT2Config c = tiny();
    auto p = random_params(TINY_N, 3);
    LNState s(2);
    s.path(PATH_LN2, 1).frozen = true; s.path(PATH_LN2, 1).sigma = 2.5f; s.path(PATH_LN2, 1).sigma_bos = 7.0f;
    s.path(PATH_LN1QK, 0).frozen = true; s.path(PATH_LN1QK, 0).sigma = 0.75f; s.path(PATH_LN1QK, 0).sigma_bos = 3.0f;
    s.path(PATH_LN1V, 1).sigma = 9.0f;  // REAL path: stored, unused
    s.path(PATH_LNF).frozen = true; s.path(PATH_LNF).sigma = 11.0f; s.path(PATH_LNF).sigma_bos = 12.0f;
    s.bos_special = false; s.eot_special = true; s.eot_token = 9;
    write_model_file(td.file("t.bin"), c, p.data(), 3, &s);
    std::string bytes = read_bytes(td.file("t.bin"));
    std::string want = model_header(3, c) + fp32_body(p) +
        trailer_bytes(2, 2, 9, {0, 1, 1, 0, 0, 0, 1},
                      {1, 2.5f, 0.75f, 1, 1, 9.0f, 11.0f}, {1, 7, 3, 1, 1, 1, 12}, 20241120, -1, 2);
    // version 2: slots 6 (step) and 8-9 (run id) are 0 outside a checkpoint; 10-11 hold the
    // FNV-1a 64 of the file with those 8 bytes as 0, computed here from the documented rule
    const size_t tr = model_header(3, c).size() + fp32_body(p).size();
    uint64_t h = 14695981039346656037ull;
    for (unsigned char b : want) h = (h ^ b) * 1099511628211ull;
    memcpy(&want[tr + 40], &h, 8);
    REQUIRE(bytes == want);
    ModelFile m = read_model_file(td.file("t.bin"));
    REQUIRE(m.has_ln_state);
    CHECK(m.params == p);
    CHECK(m.ln.eot_special);
    CHECK_FALSE(m.ln.bos_special);
    CHECK(m.ln.eot_token == 9);
    CHECK(m.ln.path(PATH_LN2, 1).frozen);
    CHECK(m.ln.path(PATH_LN2, 1).sigma == 2.5f);
    CHECK(m.ln.path(PATH_LN2, 1).sigma_bos == 7.0f);
    CHECK_FALSE(m.ln.path(PATH_LN2, 0).frozen);
    CHECK(m.ln.path(PATH_LN1QK, 0).frozen);
    CHECK(m.ln.path(PATH_LN1QK, 0).sigma == 0.75f);
    CHECK_FALSE(m.ln.path(PATH_LN1V, 1).frozen);
    CHECK(m.ln.path(PATH_LN1V, 1).sigma == 9.0f);
    CHECK(m.ln.path(PATH_LNF).frozen);
    CHECK(m.ln.path(PATH_LNF).sigma_bos == 12.0f);
    // bf16 body with a trailer
    write_model_file(td.file("t5.bin"), c, p.data(), 5, &s);
    ModelFile m5 = read_model_file(td.file("t5.bin"));
    CHECK(m5.has_ln_state);
    CHECK(m5.ln.path(PATH_LNF).sigma == 11.0f);
    CHECK(read_bytes(td.file("t5.bin")).size() == 1024 + 2 * TINY_N + 1024 + 7 * 12);
}

TEST_CASE("model_file: bad files name the file and the problem", "[model_file][bad]") {
    TempDir td;
    GPT2Config c = tiny();
    auto p = random_params(TINY_N, 4);
    const std::string good = model_header(3, c) + fp32_body(p);
    const std::vector<int> fr = {1, 1, 1, 1, 1, 1, 1};
    const std::vector<float> one(7, 1.0f);
    struct Bad { const char* name; std::string bytes; const char* problem; };
    GPT2Config odd = c; odd.num_heads = 3;
    GPT2Config huge = c; huge.channels = 1 << 30; huge.num_heads = 1;
    GPT2Config neg = c; neg.num_layers = -1;
    std::vector<float> bad_sigma = one; bad_sigma[3] = 0.0f;
    std::vector<float> nan_sigma = one; nan_sigma[6] = NAN;
    std::vector<float> neg_bos = one; neg_bos[0] = -1.0f;
    std::vector<int> fr2 = fr; fr2[2] = 2;
    Bad bad[] = {
        {"magic.bin", header_bytes({20240327, 3}) + fp32_body(p), "bad magic 20240327"},
        {"v1.bin", model_header(1, c) + fp32_body(p), "re-run train_gpt2.py"},
        {"v2.bin", model_header(2, c) + fp32_body(p), "re-run train_gpt2.py"},
        {"v4.bin", model_header(4, c) + fp32_body(p), "unsupported model file version 4"},
        {"short_header.bin", good.substr(0, 1000), "truncated model header"},
        {"empty.bin", "", "truncated model header"},
        {"short_body.bin", good.substr(0, good.size() - 4), "truncated parameter body"},
        {"short_body5.bin", model_header(5, c) + std::string(2 * TINY_N - 1, '\0'), "truncated parameter body"},
        {"heads.bin", model_header(3, odd) + fp32_body(p), "not divisible by num_heads"},
        {"neg.bin", model_header(3, neg) + fp32_body(p), "must be positive"},
        {"overflow.bin", model_header(3, huge), "overflows"},
        {"garbage.bin", good + "xyz", "not an LN trailer"},
        {"garbage2.bin", good + header_bytes({12345}), "not an LN trailer: magic 12345"},
        {"trL.bin", good + trailer_bytes(3, 0, 0, std::vector<int>(10, 0), std::vector<float>(10, 1), std::vector<float>(10, 1)), "LN trailer is for 3 layers but the model has 2"},
        {"trcount.bin", good + trailer_bytes(2, 0, 0, fr, one, one, 20241120, 6), "record count 6"},
        {"trshort.bin", good + trailer_bytes(2, 0, 0, fr, one, one).substr(0, 1024 + 80), "truncated LN trailer"},
        {"trlong.bin", good + trailer_bytes(2, 0, 0, fr, one, one) + "x", "1 bytes of trailing garbage"},
        {"trflags.bin", good + trailer_bytes(2, 4, 0, fr, one, one), "unknown bits"},
        {"trsigma0.bin", good + trailer_bytes(2, 0, 0, fr, bad_sigma, one), "ln1qk[1] is frozen with sigma 0"},
        {"trsigmanan.bin", good + trailer_bytes(2, 0, 0, fr, nan_sigma, one), "lnf is frozen with sigma nan"},
        {"trbos.bin", good + trailer_bytes(2, 1, 0, fr, one, neg_bos), "ln2[0] is frozen with sigma_bos -1"},
        {"trfrozen.bin", good + trailer_bytes(2, 0, 0, fr2, one, one), "frozen=2"},
        {"treot.bin", good + trailer_bytes(2, 2, 10, fr, one, one), "eot_token 10 is outside"},
    };
    for (auto& b : bad) {
        INFO(b.name);
        std::string path = td.file(b.name);
        write_bytes(path, b.bytes);
        REQUIRE_THROWS_AS(read_model_file(path), noln::Error);
        REQUIRE_THROWS_WITH(read_model_file(path), NAMES(path, b.problem));
    }
    // the same frozen path with sigma_bos -1 is fine when no special divisor is on
    write_bytes(td.file("bos_unused.bin"), good + trailer_bytes(2, 0, 0, fr, one, neg_bos));
    CHECK(read_model_file(td.file("bos_unused.bin")).ln.all_frozen());
    REQUIRE_THROWS_WITH(read_model_file(td.file("missing.bin")), NAMES("missing.bin", "cannot open"));
}

TEST_CASE("model_file: writes are atomic and refuse bad input", "[model_file][write]") {
    TempDir td;
    GPT2Config c = tiny();
    auto p = random_params(TINY_N, 5);
    std::string path = td.file("keep.bin");
    write_model_file(path, c, p.data(), 3, nullptr);
    const std::string before = read_bytes(path);
    LNState s(2);
    s.path(PATH_LN2, 0).frozen = true;
    s.path(PATH_LN2, 0).sigma = -1.0f;
    REQUIRE_THROWS_WITH(write_model_file(path, c, p.data(), 3, &s), NAMES(path, "sigma -1"));
    LNState wrongL(3);
    REQUIRE_THROWS_WITH(write_model_file(path, c, p.data(), 3, &wrongL), NAMES(path, "3 layers"));
    REQUIRE_THROWS_WITH(write_model_file(path, c, p.data(), 4, nullptr), NAMES(path, "version 4"));
    GPT2Config bad = c; bad.padded_vocab_size = 5;
    REQUIRE_THROWS_WITH(write_model_file(path, bad, p.data(), 3, nullptr), NAMES(path, "smaller than vocab_size"));
    CHECK(read_bytes(path) == before);  // untouched
    CHECK(glob_count(td.path) == 1);      // no temporary left
    REQUIRE_THROWS_WITH(write_model_file(td.file("no/such/dir/m.bin"), c, p.data(), 3, nullptr),
                        NAMES("no/such/dir/m.bin", "cannot create"));
}
