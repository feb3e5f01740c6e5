#include <chrono>
#include <string>

#include "io/json.h"
#include "io/file_io.h"
#include "tests/formats/test_util.h"

using namespace noln;
using namespace testutil;

TEST_CASE("json: values of every kind", "[json]") {
    Json j = parse_json(R"( {"a": 1, "b": -2.5e1, "c": "x\ty", "d": [true, false, null],
                             "e": {}, "f": [], "g": 0, "h": 123456789012345} )", "t.json");
    REQUIRE(j.is_object());
    REQUIRE(j.members.size() == 8);
    CHECK(j.members[0].first == "a");  // document order kept
    CHECK(json_int(*j.find("a"), "a", "t") == 1);
    CHECK(j.find("b")->number == -25.0);
    CHECK_FALSE(j.find("b")->is_integer);
    CHECK(j.find("c")->str == "x\ty");
    const Json& d = *j.find("d");
    REQUIRE(d.items.size() == 3);
    CHECK(d.items[0].kind == Json::BOOL);
    CHECK(d.items[0].boolean);
    CHECK_FALSE(d.items[1].boolean);
    CHECK(d.items[2].is_null());
    CHECK(j.find("e")->is_object());
    CHECK(j.find("f")->items.empty());
    CHECK(j.find("h")->integer == 123456789012345LL);
    CHECK(j.find("zz") == nullptr);
}

TEST_CASE("json: string escapes decode to UTF-8", "[json]") {
    // \u00e9 = C3 A9, \u20ac = E2 82 AC, surrogate pair D83D DE00 = U+1F600 = F0 9F 98 80
    Json j = parse_json(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "\u0120the"])",
                        "t.json");
    CHECK(j.items[0].str == "\"\\/\b\f\n\r\t");
    CHECK(j.items[1].str == "\xC3\xA9\xE2\x82\xAC");
    CHECK(j.items[2].str == "\xF0\x9F\x98\x80");
    CHECK(j.items[3].str == "\xC4\xA0the");
    // raw UTF-8 passes through
    CHECK(parse_json("\"\xC4\xA0x\"", "t").str == "\xC4\xA0x");
}

TEST_CASE("json: malformed input names the source and the byte offset", "[json]") {
    struct Bad { const char* text; const char* problem; const char* offset; };
    Bad bad[] = {
        {"", "unexpected end of input", "byte 0"},
        {"{\"a\":1,}", "expected a string key", "byte 7"},
        {"[1,]", "unexpected character", "byte 3"},
        {"[1 2]", "expected ',' or ']'", "byte 3"},
        {"{\"a\" 1}", "expected ':'", "byte 5"},
        {"01", "leading zero", "byte 0"},
        {"1.", "digit expected after '.'", "byte 0"},
        {"1e", "digit expected in exponent", "byte 0"},
        {"-", "invalid number", "byte 0"},
        {"NaN", "unexpected character", "byte 0"},
        {"tru", "invalid literal", "byte 0"},
        {"\"abc", "unterminated string", "byte 4"},
        {"\"a\nb\"", "raw control character", "byte 2"},
        {"\"\\x\"", "invalid escape", "byte 1"},
        {"\"\\u12G4\"", "bad hex digit", "byte 5"},
        {"\"\\ud800\"", "high surrogate not followed", "byte 1"},
        {"\"\\ud800\\u0041\"", "high surrogate not followed", "byte 1"},
        {"\"\\udc00\"", "lone low surrogate", "byte 1"},
        {"\"\xC0\xAF\"", "invalid UTF-8", "byte 1"},
        {"\"\xED\xA0\x80\"", "invalid UTF-8", "byte 1"},
        {"\"\xE2\x82\"", "invalid UTF-8", "byte 1"},
        {"{\"a\":1,\"a\":2}", "duplicate key \"a\"", "byte 0"},
        {"[1] x", "trailing characters", "byte 4"},
        {"1e999", "out of range", "byte 0"},
        {"// c\n1", "unexpected character", "byte 0"},
    };
    for (auto& b : bad) {
        INFO(b.text);
        REQUIRE_THROWS_AS(parse_json(b.text, "cfg.json"), noln::Error);
        REQUIRE_THROWS_WITH(parse_json(b.text, "cfg.json"),
                            Catch::Matchers::Contains("cfg.json: JSON error at " + std::string(b.offset)) &&
                                Catch::Matchers::Contains(b.problem));
    }
}

TEST_CASE("json: nesting depth is bounded", "[json]") {
    std::string deep(10000, '[');
    REQUIRE_THROWS_WITH(parse_json(deep, "d.json"), NAMES("d.json", "nesting too deep"));
    std::string ok = std::string(100, '[') + std::string(100, ']');
    CHECK(parse_json(ok, "d.json").is_array());
}

TEST_CASE("json: typed accessors name the key", "[json]") {
    Json j = parse_json(R"({"n": 1.5, "s": 3})", "c.json");
    REQUIRE_THROWS_WITH(json_member(j, "missing", "c.json"), NAMES("c.json", "missing key \"missing\""));
    REQUIRE_THROWS_WITH(json_int(*j.find("n"), "n_layer", "c.json"), NAMES("c.json", "n_layer must be an integer"));
    REQUIRE_THROWS_WITH(json_string(*j.find("s"), "dtype", "c.json"), NAMES("c.json", "dtype must be a string"));
    CHECK(json_number(*j.find("n"), "n", "c.json") == 1.5);
}

TEST_CASE("json: quote round-trips through the parser", "[json]") {
    std::string s = "a\"b\\c\n\x01\xC4\xA0";
    CHECK(parse_json(json_quote(s), "q").str == s);
}

TEST_CASE("json: an encoder.json-sized object parses well under a second", "[json]") {
    // 50257 keys shaped like GPT-2's byte-level tokens, some with \u escapes
    std::string text = "{";
    for (int i = 0; i < 50257; i++) {
        if (i) text += ", ";
        text += "\"\\u0120tok" + std::to_string(i) + "\\u00e9\": " + std::to_string(i);
    }
    text += "}";
    TempDir td;
    write_bytes(td.file("encoder.json"), text);
    auto t0 = std::chrono::steady_clock::now();
    Json j = read_json_file(td.file("encoder.json"));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(j.members.size() == 50257);
    CHECK(j.members[50256].first == "\xC4\xA0tok50256\xC3\xA9");
    CHECK(j.members[50256].second.integer == 50256);
    CHECK(s < 0.5);
    REQUIRE_THROWS_WITH(read_json_file(td.file("nope.json")), NAMES("nope.json", "cannot open"));
}
