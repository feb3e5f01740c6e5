#include "io/eval_file.h"
#include "tests/formats/test_util.h"

using namespace noln;
using namespace testutil;

namespace {

std::string u16s(const std::vector<int>& v) {
    std::string s;
    for (int x : v) append<uint16_t>(s, (uint16_t)x);
    return s;
}

// One record by hand: 65535, bytes, index, label, 4, ctx, completions (lengths prefixed).
std::vector<int> record(int index, int label, std::vector<int> ctx, std::vector<std::vector<int>> comps,
                        int ncomp = 4, int bytes_delta = 0) {
    std::vector<int> r = {65535, 0, index, label, ncomp, (int)ctx.size()};
    r.insert(r.end(), ctx.begin(), ctx.end());
    for (auto& c : comps) {
        r.push_back((int)c.size());
        r.insert(r.end(), c.begin(), c.end());
    }
    r[1] = (int)r.size() * 2 + bytes_delta;
    return r;
}

std::vector<EvalExample> two_examples() {
    EvalExample a;
    a.label = 2;
    a.context = {10, 11, 12};
    a.completions = {{1}, {2, 3}, {4, 5, 6}, {7}};
    EvalExample b;
    b.label = 0;
    b.context = {50256};
    b.completions = {{100, 101}, {102}, {103}, {104, 105, 106, 107}};
    return {a, b};
}

}  // namespace

TEST_CASE("eval_file: write is byte-exact and reads back", "[eval_file]") {
    TempDir td;
    write_eval_file(td.file("e.bin"), two_examples());
    auto r0 = record(0, 2, {10, 11, 12}, {{1}, {2, 3}, {4, 5, 6}, {7}});
    auto r1 = record(1, 0, {50256}, {{100, 101}, {102}, {103}, {104, 105, 106, 107}});
    CHECK(r0[1] == 2 * (6 + 3 + 4 + 7));  // 40 bytes
    CHECK(r1[1] == 2 * (6 + 1 + 4 + 8));  // 38 bytes
    REQUIRE(read_bytes(td.file("e.bin")) == header_bytes({20240522, 1, 2, 40}) + u16s(r0) + u16s(r1));
    EvalFile f = read_eval_file(td.file("e.bin"), 50257);
    CHECK(f.longest_example_bytes == 40);
    REQUIRE(f.examples.size() == 2);
    CHECK(f.examples[0].label == 2);
    CHECK(f.examples[0].context == std::vector<int>{10, 11, 12});
    CHECK(f.examples[0].completions[2] == std::vector<int>{4, 5, 6});
    CHECK(f.examples[1].index == 1);
    CHECK(f.examples[1].context == std::vector<int>{50256});
    CHECK(f.examples[1].completions[3] == std::vector<int>{104, 105, 106, 107});
}

TEST_CASE("eval_file: bad files name the file, the example and the problem", "[eval_file][bad]") {
    TempDir td;
    const std::vector<std::vector<int>> c4 = {{1}, {2}, {3}, {4}};
    auto good0 = u16s(record(0, 1, {5, 6}, c4));  // 2*(6+2+8) = 32 bytes
    auto hdr = [](int n, int longest) { return header_bytes({20240522, 1, n, longest}); };
    struct Bad { const char* name; std::string bytes; const char* problem; };
    auto delim = record(1, 0, {5}, c4);
    delim[0] = 65534;
    Bad bad[] = {
        {"magic.bin", header_bytes({20240520, 1, 1, 32}) + good0, "bad magic 20240520"},
        {"version.bin", header_bytes({20240522, 2, 1, 32}) + good0, "unsupported eval file version 2"},
        {"count.bin", hdr(0, 32), "declares 0 examples"},
        {"short.bin", hdr(2, 32) + good0, "truncated example 1"},
        {"cut.bin", hdr(1, 32) + good0.substr(0, 20), "truncated example 0"},
        {"trail.bin", hdr(1, 32) + good0 + "xx", "2 bytes of trailing garbage"},
        {"delim.bin", hdr(2, 32) + good0 + u16s(delim), "example 1 at byte offset 1056 does not start with the 65535 delimiter"},
        {"index.bin", hdr(1, 32) + u16s(record(3, 1, {5, 6}, c4)), "example 0 has index 3"},
        {"label.bin", hdr(1, 32) + u16s(record(0, 4, {5, 6}, c4)), "example 0 has label 4"},
        {"ncomp.bin", hdr(1, 32) + u16s(record(0, 1, {5, 6}, {{1}, {2}, {3}}, 3)), "example 0 has 3 completions"},
        {"longest.bin", hdr(1, 30) + good0, "example 0 is 32 bytes, longer than the header's longest example (30)"},
        {"overrun.bin", hdr(1, 34) + u16s(record(0, 1, {5, 6}, c4, 4, -4)) + "zz", "end inside the completion"},
        {"extra.bin", hdr(1, 34) + u16s(record(0, 1, {5, 6}, c4, 4, 2)) + "zz", "declares 34 bytes but its fields use 32"},
        {"emptyctx.bin", hdr(1, 32) + u16s(record(0, 1, {}, {{1}, {2}, {3}, {4, 5}})), "example 0 has an empty context"},
        {"emptycomp.bin", hdr(1, 32) + u16s(record(0, 1, {5, 6}, {{1}, {}, {3, 4}, {5}})), "example 0 has an empty completion"},
        {"odd.bin", hdr(1, 32) + u16s({65535, 33}) + std::string(29, '\0'), "impossible size of 33 bytes"},
    };
    for (auto& b : bad) {
        INFO(b.name);
        write_bytes(td.file(b.name), b.bytes);
        REQUIRE_THROWS_WITH(read_eval_file(td.file(b.name)), NAMES(td.file(b.name), b.problem));
    }
    write_bytes(td.file("vocab.bin"), hdr(1, 32) + u16s(record(0, 1, {5, 6}, {{1}, {2}, {300}, {4}})));
    CHECK(read_eval_file(td.file("vocab.bin")).examples.size() == 1);
    REQUIRE_THROWS_WITH(read_eval_file(td.file("vocab.bin"), 300),
                        NAMES(td.file("vocab.bin"), "example 0: token 300 in the completion is not below vocab_size 300"));
    REQUIRE_THROWS_WITH(read_eval_file(td.file("none.bin")), NAMES("none.bin", "cannot open"));

    auto ex = two_examples();
    ex[1].label = 4;
    REQUIRE_THROWS_WITH(write_eval_file(td.file("w.bin"), ex), NAMES("w.bin", "example 1 has label 4"));
    ex = two_examples();
    ex[0].completions.pop_back();
    REQUIRE_THROWS_WITH(write_eval_file(td.file("w.bin"), ex), NAMES("w.bin", "example 0 has 3 completions"));
    ex = two_examples();
    ex[0].context[1] = 70000;
    REQUIRE_THROWS_WITH(write_eval_file(td.file("w.bin"), ex), NAMES("w.bin", "token 70000"));
    CHECK_FALSE(file_exists(td.file("w.bin")));
}
