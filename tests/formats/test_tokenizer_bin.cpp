#include "io/tokenizer_bin.h"
#include "tests/formats/test_util.h"

using namespace noln;
using namespace testutil;

TEST_CASE("tokenizer_bin: write is byte-exact and reads back", "[tokenizer_bin]") {
    TempDir td;
    std::vector<std::string> toks = {"!", "\xC4\xA0the", std::string("\0\xff", 2), "<|endoftext|>"};
    write_tokenizer_bin(td.file("tok.bin"), toks, 3);
    std::string want = header_bytes({20240328, 2, 4, 3});
    want += std::string("\x01!", 2) + "\x05\xC4\xA0the" + std::string("\x02\0\xff", 3) + "\x0d<|endoftext|>";
    REQUIRE(read_bytes(td.file("tok.bin")) == want);
    TokenizerBin t = read_tokenizer_bin(td.file("tok.bin"));
    CHECK(t.size() == 4);
    CHECK(t.eot_token == 3);
    CHECK(t.version == 2);
    CHECK(t.decode(1) == "\xC4\xA0the");
    CHECK(t.decode(2) == std::string("\0\xff", 2));
    REQUIRE_THROWS_WITH(t.decode(4), Catch::Matchers::Contains("token id 4 is outside"));
    REQUIRE_THROWS_WITH(t.decode(-1), Catch::Matchers::Contains("token id -1 is outside"));
}

TEST_CASE("tokenizer_bin: version 1 means EOT 50256", "[tokenizer_bin]") {
    TempDir td;
    std::string body;
    for (int i = 0; i < 50257; i++) body += std::string("\x01") + (char)('a' + i % 26);
    write_bytes(td.file("v1.bin"), header_bytes({20240328, 1, 50257, 7}) + body);
    TokenizerBin t = read_tokenizer_bin(td.file("v1.bin"));
    CHECK(t.version == 1);
    CHECK(t.eot_token == 50256);  // slot 3 is ignored in version 1
    CHECK(t.decode(27) == "b");
}

TEST_CASE("tokenizer_bin: bad files name the file and the problem", "[tokenizer_bin][bad]") {
    TempDir td;
    std::string ab = "\x01" "a" "\x01" "b";
    struct Bad { const char* name; std::string bytes; const char* problem; };
    Bad bad[] = {
        {"magic.bin", header_bytes({20240520, 2, 2, 1}) + ab, "bad magic 20240520"},
        {"version.bin", header_bytes({20240328, 3, 2, 1}) + ab, "unsupported tokenizer version 3"},
        {"count.bin", header_bytes({20240328, 2, 0, 0}), "declares 0 tokens"},
        {"eot.bin", header_bytes({20240328, 2, 2, 2}) + ab, "EOT id 2 is outside"},
        {"header.bin", header_bytes({20240328, 2, 2, 1}).substr(0, 10), "truncated tokenizer header"},
        {"huge.bin", header_bytes({20240328, 2, 1000000, 1}) + ab, "truncated tokenizer: 1000000 tokens"},
        {"cut.bin", header_bytes({20240328, 2, 2, 1}) + "\x01" "a" "\x05" "bc", "token 1 needs 5 bytes"},
        {"zero.bin", header_bytes({20240328, 2, 2, 1}) + std::string("\x01" "a" "\0" "b", 4), "token 1 has length 0"},
        {"trail.bin", header_bytes({20240328, 2, 2, 1}) + ab + "zz", "2 bytes of trailing garbage"},
    };
    for (auto& b : bad) {
        INFO(b.name);
        write_bytes(td.file(b.name), b.bytes);
        REQUIRE_THROWS_WITH(read_tokenizer_bin(td.file(b.name)), NAMES(td.file(b.name), b.problem));
    }
    REQUIRE_THROWS_WITH(read_tokenizer_bin(td.file("none.bin")), NAMES("none.bin", "cannot open"));
    REQUIRE_THROWS_WITH(write_tokenizer_bin(td.file("w.bin"), {"a", ""}, 0), NAMES("w.bin", "token 1 is 0 bytes"));
    REQUIRE_THROWS_WITH(write_tokenizer_bin(td.file("w.bin"), {"a", std::string(256, 'x')}, 0), NAMES("w.bin", "256 bytes"));
    REQUIRE_THROWS_WITH(write_tokenizer_bin(td.file("w.bin"), {"a"}, 1), NAMES("w.bin", "EOT id 1"));
    CHECK_FALSE(file_exists(td.file("w.bin")));
}
