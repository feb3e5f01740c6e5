// GPT-2 BPE (io/bpe.h). Expected values come from OpenAI's published encodings and from
// GPT-2's regex as the Python `regex` module applies it (written out by hand below), never
// from the code under test. Tests tagged [assets] need data/assets/gpt2 (fetch_assets.sh);
// NOLN_GPT2_DIR points elsewhere.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "io/bpe.h"
#include "host/error.h"

using noln::Bpe;
using Strings = std::vector<std::string>;

static std::string asset_dir() {
    const char* d = getenv("NOLN_GPT2_DIR");
    return d ? d : "data/assets/gpt2";
}

static Bpe& gpt2() {
    static Bpe bpe(asset_dir() + "/encoder.json", asset_dir() + "/vocab.bpe");
    return bpe;
}

static std::string utf8(uint32_t cp) {
    std::string s;
    if (cp < 0x80) s += (char)cp;
    else if (cp < 0x800) { s += (char)(0xC0 | cp >> 6); s += (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
        s += (char)(0xE0 | cp >> 12); s += (char)(0x80 | (cp >> 6 & 0x3F)); s += (char)(0x80 | (cp & 0x3F));
    } else {
        s += (char)(0xF0 | cp >> 18); s += (char)(0x80 | (cp >> 12 & 0x3F));
        s += (char)(0x80 | (cp >> 6 & 0x3F)); s += (char)(0x80 | (cp & 0x3F));
    }
    return s;
}

TEST_CASE("unicode classes follow \\p{L}, \\p{N} and \\s", "[pretok]") {
    using noln::CharClass;
    using noln::unicode_class;
    CHECK(unicode_class('a') == CharClass::Letter);
    CHECK(unicode_class(0x00E9) == CharClass::Letter);   // é
    CHECK(unicode_class(0x0416) == CharClass::Letter);   // Ж
    CHECK(unicode_class(0x65E5) == CharClass::Letter);   // 日 (Lo)
    CHECK(unicode_class(0x02B0) == CharClass::Letter);   // ʰ (Lm)
    CHECK(unicode_class('7') == CharClass::Number);
    CHECK(unicode_class(0x0663) == CharClass::Number);   // Arabic-Indic 3 (Nd)
    CHECK(unicode_class(0x216B) == CharClass::Number);   // Ⅻ (Nl)
    CHECK(unicode_class(0x00BD) == CharClass::Number);   // ½ (No)
    CHECK(unicode_class(' ') == CharClass::Space);
    CHECK(unicode_class(0x0B) == CharClass::Space);
    CHECK(unicode_class(0x85) == CharClass::Space);
    CHECK(unicode_class(0xA0) == CharClass::Space);
    CHECK(unicode_class(0x3000) == CharClass::Space);
    CHECK(unicode_class(0x1C) == CharClass::Other);      // str.isspace() says yes, \s says no
    CHECK(unicode_class(0x200B) == CharClass::Other);    // zero width space is Cf
    CHECK(unicode_class(0x0301) == CharClass::Other);    // combining acute (Mn)
    CHECK(unicode_class('\'') == CharClass::Other);
    CHECK(unicode_class(0x1F600) == CharClass::Other);   // emoji (So)
}

TEST_CASE("pre-tokeniser splits like GPT-2's regex", "[pretok]") {
    using noln::gpt2_pretokenize;
    CHECK(gpt2_pretokenize("Hello world") == Strings{"Hello", " world"});
    CHECK(gpt2_pretokenize("I'm don't they'll we've you're she'd it's") ==
          Strings{"I", "'m", " don", "'t", " they", "'ll", " we", "'ve", " you", "'re", " she", "'d",
                  " it", "'s"});
    CHECK(gpt2_pretokenize("DON'T") == Strings{"DON", "'", "T"});  // contractions are lower case
    CHECK(gpt2_pretokenize("''s") == Strings{"''", "s"});
    CHECK(gpt2_pretokenize("  's") == Strings{" ", " '", "s"});
    CHECK(gpt2_pretokenize("abc   def") == Strings{"abc", "  ", " def"});
    CHECK(gpt2_pretokenize("a\n\nb") == Strings{"a", "\n", "\n", "b"});
    CHECK(gpt2_pretokenize("x  ") == Strings{"x", "  "});
    CHECK(gpt2_pretokenize(" \t x") == Strings{" \t", " x"});
    CHECK(gpt2_pretokenize("hello!!! ?") == Strings{"hello", "!!!", " ?"});
    CHECK(gpt2_pretokenize("2024 year 12345") == Strings{"2024", " year", " 12345"});
    CHECK(gpt2_pretokenize("Привет мир") == Strings{"Привет", " мир"});
    CHECK(gpt2_pretokenize("日本語です") == Strings{"日本語です"});
    CHECK(gpt2_pretokenize("e\xCC\x81") == Strings{"e", "\xCC\x81"});
    CHECK(gpt2_pretokenize("a\xC2\xA0" "b") == Strings{"a", "\xC2\xA0", "b"});
    CHECK(gpt2_pretokenize("\xE2\x85\xAB\xC2\xBD \xD9\xA3") == Strings{"\xE2\x85\xAB\xC2\xBD", " \xD9\xA3"});
    CHECK(gpt2_pretokenize("") == Strings{});
    // a byte that is not UTF-8 is an "other" character: it joins a punctuation run
    CHECK(gpt2_pretokenize("a\xFF!b \xC3") == Strings{"a", "\xFF!", "b", " \xC3"});
}

TEST_CASE("pre-tokens tile the input", "[pretok]") {
    std::mt19937 rng(7);
    for (int t = 0; t < 200; t++) {
        std::string s(rng() % 200, '\0');
        for (char& c : s) c = (char)(rng() % 4 ? " a1'\n\xC3\xA9!"[rng() % 10] : rng());
        size_t at = 0;
        for (const auto& pc : noln::gpt2_pretokenize(s.data(), s.size())) {
            REQUIRE(pc.offset == at);
            REQUIRE(pc.length > 0);
            at += pc.length;
        }
        REQUIRE(at == s.size());
    }
}

TEST_CASE("golden GPT-2 encodings", "[assets]") {
    Bpe& bpe = gpt2();
    CHECK(bpe.vocab_size() == 50257);
    CHECK(bpe.eot() == 50256);
    CHECK(bpe.encode("Hello world") == std::vector<int>{15496, 995});
    CHECK(bpe.encode(" The quick brown fox jumps over the lazy dog.") ==
          std::vector<int>{383, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13});
    CHECK(bpe.encode("hello <|endoftext|>", true) == std::vector<int>{31373, 220, 50256});
    CHECK(bpe.decode({15496, 995}) == "Hello world");
    CHECK(bpe.token_bytes(50256) == "<|endoftext|>");
    CHECK(bpe.token_bytes(220) == " ");
}

TEST_CASE("special token only when allowed", "[assets]") {
    Bpe& bpe = gpt2();
    std::vector<int> plain = bpe.encode("hello <|endoftext|>", false);
    CHECK(std::find(plain.begin(), plain.end(), 50256) == plain.end());
    CHECK(plain.size() > 3);
    CHECK(bpe.decode(plain) == "hello <|endoftext|>");
    // text on either side of the marker is tokenised separately
    std::vector<int> ab = bpe.encode("a<|endoftext|>b", true);
    std::vector<int> want = bpe.encode("a");
    want.push_back(50256);
    for (int id : bpe.encode("b")) want.push_back(id);
    CHECK(ab == want);
    CHECK(bpe.encode("<|endoftext|><|endoftext|>", true) == std::vector<int>{50256, 50256});
}

TEST_CASE("decode(encode(x)) == x", "[assets]") {
    Bpe& bpe = gpt2();
    std::mt19937 rng(1234);
    SECTION("fixed tricky strings") {
        for (std::string s : {std::string("I'm DON'T 'll ''ve 1234567890 3.14159"),
                              std::string("  \t\n\n  \r\n\x0b\x0c end   "),
                              std::string("Привет, мир! 日本語のテキスト。 مرحبا بالعالم 🙂👍🏽 नमस्ते"),
                              std::string("e\xCC\x81\xE2\x80\x8B\xC2\xA0\xE3\x80\x80x"),
                              std::string("\xC0\x80 \xED\xA0\x80 \xF5\x80\x80\x80 \xE2\x82 \xFF\xFE \xF0\x9F"),
                              std::string(1, '\0') + "nul"}) {
            CHECK(bpe.decode(bpe.encode(s)) == s);
        }
    }
    SECTION("random bytes") {
        for (int t = 0; t < 300; t++) {
            std::string s(rng() % 300, '\0');
            for (char& c : s) c = (char)rng();
            REQUIRE(bpe.decode(bpe.encode(s)) == s);
        }
    }
    SECTION("random valid UTF-8 across all planes") {
        for (int t = 0; t < 300; t++) {
            std::string s;
            int n = rng() % 80;
            for (int i = 0; i < n; i++) {
                uint32_t cp;
                switch (rng() % 4) {
                    case 0: cp = 0x20 + rng() % 0x5F; break;
                    case 1: cp = 0x80 + rng() % 0x780; break;
                    case 2: cp = 0x800 + rng() % 0xF800; break;
                    default: cp = 0x10000 + rng() % 0x100000; break;
                }
                if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
                s += utf8(cp);
            }
            REQUIRE(bpe.decode(bpe.encode(s)) == s);
        }
    }
}

TEST_CASE("long runs stay fast (no quadratic merge loop)", "[assets]") {
    Bpe& bpe = gpt2();
    auto t0 = std::chrono::steady_clock::now();
    std::string dashes(200000, '-'), word(200000, 'a'), spaces(200000, ' ');
    for (const std::string& s : {dashes, word}) {
        std::vector<int> ids = bpe.encode(s);
        CHECK(ids.size() < s.size() / 2);  // merged into multi-byte tokens
        CHECK(bpe.decode(ids) == s);
    }
    // GPT-2 has no multi-space tokens (the Python reference agrees): one 220 per space
    CHECK(bpe.encode(spaces) == std::vector<int>(spaces.size(), 220));
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(sec < 5.0);
}

TEST_CASE("bad ids and bad files are errors naming the problem", "[assets]") {
    Bpe& bpe = gpt2();
    CHECK_THROWS_WITH(bpe.decode({15496, 50257}), Catch::Contains("50257"));
    CHECK_THROWS_AS(bpe.token_bytes(-1), noln::Error);

    std::string dir = asset_dir();
    CHECK_THROWS_WITH(Bpe("/nonexistent/encoder.json", dir + "/vocab.bpe"),
                      Catch::Contains("/nonexistent/encoder.json"));
    char tmpl[] = "/tmp/noln_bpe_XXXXXX";
    std::string tmp = mkdtemp(tmpl);
    auto write = [&](const std::string& name, const std::string& body) {
        FILE* f = fopen((tmp + "/" + name).c_str(), "wb");
        fwrite(body.data(), 1, body.size(), f);
        fclose(f);
        return tmp + "/" + name;
    };
    // a tiny vocabulary: the 256 byte tokens (id = byte), "ab", "abc", EOT
    std::string enc = "{";
    int ids = 0;
    // keys in GPT-2's printable alphabet, written as \u escapes
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        unsigned cp = keep ? b : 256 + extra++;
        char key[16];
        if (cp == '"' || cp == '\\') snprintf(key, sizeof key, "\\%c", cp);
        else snprintf(key, sizeof key, "\\u%04x", cp);
        enc += std::string(ids ? "," : "") + "\"" + key + "\":" + std::to_string(ids);
        ids++;
    }
    std::string good_enc = enc + ",\"ab\":256,\"abc\":257,\"<|endoftext|>\":258}";
    std::string e = write("enc.json", good_enc);
    std::string v = write("vocab.bpe", "#version: 0.2\na b\nab c\n");
    Bpe tiny(e, v);
    CHECK(tiny.vocab_size() == 259);
    // here byte b has id b: "abc" is one merge chain, " abd" keeps ' ' and 'd' apart
    CHECK(tiny.encode("abc abd") == std::vector<int>{257, ' ', 256, 'd'});
    CHECK(tiny.decode({257, ' ', 256, 'd'}) == "abc abd");
    CHECK_THROWS_WITH(Bpe(e, write("v2.bpe", "#version: 0.2\na b\nab\n")),
                      Catch::Contains("v2.bpe") && Catch::Contains("line 3"));
    CHECK_THROWS_WITH(Bpe(e, write("v3.bpe", "#version: 0.2\na x\n")),
                      Catch::Contains("v3.bpe") && Catch::Contains("line 2"));
    CHECK_THROWS_WITH(Bpe(e, write("v4.bpe", "#version: 0.2\nab c\na b\n")),
                      Catch::Contains("no earlier merge"));
    CHECK_THROWS_WITH(Bpe(write("e2.json", enc + ",\"ab\":256,\"abc\":999,\"<|endoftext|>\":258}"), v),
                      Catch::Contains("e2.json") && Catch::Contains("999"));
    CHECK_THROWS_WITH(Bpe(write("e3.json", enc + ",\"ab\":256,\"abc\":257,\"<|eot|>\":258}"), v),
                      Catch::Contains("e3.json"));
    CHECK_THROWS_WITH(Bpe(write("e4.json", "[1,2]"), v), Catch::Contains("e4.json"));
    std::string cmd = "rm -rf " + tmp;
    CHECK(system(cmd.c_str()) == 0);
}
