#include <map>
#include <set>

#include "io/dataloader.h"
#include "io/shard.h"
#include "tests/formats/test_util.h"

using namespace noln;
using namespace testutil;

namespace {

// Shard s holds tokens s*10000 + i, so every token says where it came from.
void make_shards(const TempDir& td, const std::vector<int>& sizes) {
    for (size_t s = 0; s < sizes.size(); s++) {
        std::vector<int> t(sizes[s]);
        for (int i = 0; i < sizes[s]; i++) t[i] = (int)s * 10000 + i;
        char name[64];
        snprintf(name, sizeof name, "train_%06zu.bin", s);
        write_shard(td.file(name), t);
    }
}

std::vector<int> batch(const DataLoader& dl) {
    std::vector<int> v(dl.inputs(), dl.inputs() + dl.B() * dl.T());
    return v;
}

// The first input token of each of n batches.
std::vector<int> firsts(DataLoader& dl, int n) {
    std::vector<int> v;
    for (int i = 0; i < n; i++) {
        dl.next_batch();
        v.push_back(dl.inputs()[0]);
    }
    return v;
}

}  // namespace

TEST_CASE("shard: write is byte-exact and reads back", "[shard]") {
    TempDir td;
    std::string p = td.file("s.bin");
    write_shard(p, std::vector<int>{0, 1, 65535, 50256, 7});
    std::string want = header_bytes({20240520, 1, 5});
    for (uint16_t t : {0, 1, 65535, 50256, 7}) append<uint16_t>(want, t);
    REQUIRE(read_bytes(p) == want);
    CHECK(shard_num_tokens(p) == 5);
    CHECK(read_shard(p, 0) == std::vector<uint16_t>{0, 1, 65535, 50256, 7});
    CHECK(validate_shard(p, 65536) == 5);
    CHECK(glob_count(td.path) == 1);
}

TEST_CASE("shard: bad files name the file and the problem", "[shard][bad]") {
    TempDir td;
    std::string toks;
    for (uint16_t t : {1, 2, 3, 4}) append<uint16_t>(toks, t);
    struct Bad { const char* name; std::string bytes; const char* problem; };
    Bad bad[] = {
        {"magic.bin", header_bytes({20240326, 1, 4}) + toks, "bad magic 20240326"},
        {"llama.bin", header_bytes({20240801, 7, 4}) + toks, "Llama-3 shard"},
        {"version.bin", header_bytes({20240520, 2, 4}) + toks, "unsupported token shard version 2"},
        {"zero.bin", header_bytes({20240520, 1, 0}), "declares 0 tokens"},
        {"neg.bin", header_bytes({20240520, 1, -5}) + toks, "declares -5 tokens"},
        {"short.bin", header_bytes({20240520, 1, 5}) + toks, "truncated"},
        {"long.bin", header_bytes({20240520, 1, 3}) + toks, "trailing bytes"},
        {"odd.bin", header_bytes({20240520, 1, 4}) + toks + "x", "need exactly 1032"},
        {"header.bin", header_bytes({20240520, 1, 4}).substr(0, 100), "truncated shard header"},
    };
    for (auto& b : bad) {
        INFO(b.name);
        write_bytes(td.file(b.name), b.bytes);
        REQUIRE_THROWS_WITH(read_shard(td.file(b.name), 0), NAMES(td.file(b.name), b.problem));
    }
    std::string vocab;
    for (uint16_t t : {1, 2, 50257, 4}) append<uint16_t>(vocab, t);
    write_bytes(td.file("vocab.bin"), header_bytes({20240520, 1, 4}) + vocab);
    REQUIRE_THROWS_WITH(read_shard(td.file("vocab.bin"), 50257),
                        NAMES(td.file("vocab.bin"), "token 50257 at index 2 (byte offset 1028) is not below vocab_size 50257"));
    REQUIRE_THROWS_WITH(validate_shard(td.file("vocab.bin"), 50257), NAMES(td.file("vocab.bin"), "index 2"));
    CHECK(read_shard(td.file("vocab.bin"), 50258).size() == 4);
    REQUIRE_THROWS_WITH(read_shard(td.file("none.bin"), 0), NAMES("none.bin", "cannot open"));
    REQUIRE_THROWS_WITH(write_shard(td.file("w.bin"), std::vector<int>{1, 70000}), NAMES("w.bin", "token 70000 at index 1"));
    REQUIRE_THROWS_WITH(write_shard(td.file("w.bin"), std::vector<int>{1, -1}), NAMES("w.bin", "token -1"));
    REQUIRE_THROWS_WITH(write_shard(td.file("w.bin"), std::vector<int>{}), NAMES("w.bin", "empty"));
    CHECK_FALSE(file_exists(td.file("w.bin")));
}

TEST_CASE("dataloader: sequential windows, shard switch and wrap", "[dataloader]") {
    TempDir td;
    // B*T = 8: shard 0 (30 tokens) has floor(29/8) = 3 samples, shard 1 (17 tokens) has 2
    make_shards(td, {30, 17});
    DataLoader dl(td.file("train_*.bin"), 2, 4, 0, 1, false, 60000);
    CHECK(dl.num_shards() == 2);
    CHECK(dl.num_batches() == 5);
    dl.next_batch();
    std::vector<int> in = batch(dl), tg(dl.targets(), dl.targets() + 8);
    CHECK(in == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(tg == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
    std::vector<int> f = {0};
    for (int x : firsts(dl, 8)) f.push_back(x);
    // shard 0: 0, 8, 16; shard 1: 10000, 10008; wrap: 0, 8, 16, 10000
    CHECK(f == std::vector<int>{0, 8, 16, 10000, 10008, 0, 8, 16, 10000});
    CHECK(dl.epoch() == 1);
    // the last sample of shard 0 ends its targets on token 24 (window 16..24)
    dl.reset();
    firsts(dl, 3);
    CHECK(dl.targets()[7] == 24);
    CHECK(dl.epoch() == 0);
    dl.next_batch();
    CHECK(dl.targets()[7] == 10008);
    dl.reset();
    CHECK(firsts(dl, 2) == std::vector<int>{0, 8});
}

TEST_CASE("dataloader: each rank reads its own slice of the step window", "[dataloader]") {
    TempDir td;
    // world*B*T = 2*1*4 = 8; shard 0: floor(24/8) = 3 samples
    make_shards(td, {25, 9});
    DataLoader r0(td.file("train_*.bin"), 1, 4, 0, 2, false, 60000);
    DataLoader r1(td.file("train_*.bin"), 1, 4, 1, 2, false, 60000);
    CHECK(r0.num_batches() == 4);
    std::vector<int> a, b;
    for (int i = 0; i < 4; i++) {
        r0.next_batch();
        r1.next_batch();
        a.push_back(r0.inputs()[0]);
        b.push_back(r1.inputs()[0]);
        CHECK(r0.targets()[3] == r1.inputs()[0]);  // rank 1 starts where rank 0's slice ends
    }
    CHECK(a == std::vector<int>{0, 8, 16, 10000});
    CHECK(b == std::vector<int>{4, 12, 20, 10004});
    CHECK(r1.targets()[3] == 10008);  // the +1 token of the last rank's slice
}

TEST_CASE("dataloader: shuffle is a seeded permutation of shards and samples", "[dataloader][shuffle]") {
    TempDir td;
    make_shards(td, {41, 33, 57, 25});  // B*T=8: 5, 4, 7, 3 samples = 19
    const std::string pat = td.file("train_*.bin");
    DataLoader a(pat, 2, 4, 0, 1, true, 60000, 42), b(pat, 2, 4, 0, 1, true, 60000, 42);
    DataLoader c(pat, 2, 4, 0, 1, true, 60000, 7);
    REQUIRE(a.num_batches() == 19);
    std::vector<int> ea = firsts(a, 19), eb = firsts(b, 19), ec = firsts(c, 19);
    CHECK(ea == eb);
    CHECK(ea != ec);
    // one epoch visits every window exactly once, and shards are contiguous runs
    std::set<int> want;
    int per[] = {5, 4, 7, 3};
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < per[s]; k++) want.insert(s * 10000 + 8 * k);
    CHECK(std::set<int>(ea.begin(), ea.end()) == want);
    CHECK(std::set<int>(ea.begin(), ea.end()).size() == 19);
    int runs = 1;
    for (size_t i = 1; i < ea.size(); i++) runs += ea[i] / 10000 != ea[i - 1] / 10000;
    CHECK(runs == 4);
    DataLoader seq(pat, 2, 4, 0, 1, false, 60000);
    CHECK(ea != firsts(seq, 19));  // not the sequential order
    // the next epochs are permuted afresh; over a few epochs the orders are not all the same
    std::set<std::vector<int>> epochs = {ea};
    for (int e = 0; e < 4; e++) epochs.insert(firsts(a, 19));
    CHECK(epochs.size() > 1);
    CHECK(a.epoch() == 4);
    // rank 1 uses seed + rank: a different order
    DataLoader r1(pat, 1, 4, 1, 2, true, 60000, 42);
    DataLoader r0(pat, 1, 4, 0, 2, true, 60000, 42);
    CHECK(firsts(r0, 19) != firsts(r1, 19));
    // reset reproduces the first epoch
    a.reset();
    CHECK(firsts(a, 19) == ea);
}

TEST_CASE("dataloader: save/restore resumes with exactly the same batches", "[dataloader][state]") {
    TempDir td;
    make_shards(td, {41, 33, 57});
    const std::string pat = td.file("train_*.bin");
    for (bool shuffle : {false, true}) {
        for (int k : {0, 3, 5, 16, 40}) {
            INFO("shuffle=" << shuffle << " k=" << k);
            DataLoader a(pat, 2, 4, 0, 1, shuffle, 60000, 42);
            firsts(a, k);
            std::string st = a.save_state();
            std::vector<std::vector<int>> want;
            for (int i = 0; i < 30; i++) { a.next_batch(); want.push_back(batch(a)); }
            DataLoader b(pat, 2, 4, 0, 1, shuffle, 60000, 42);
            firsts(b, 7);  // somewhere else entirely
            b.restore_state(st, "state.bin");
            for (int i = 0; i < 30; i++) { b.next_batch(); REQUIRE(batch(b) == want[i]); }
            CHECK(a.epoch() == b.epoch());
        }
    }
}

TEST_CASE("dataloader: bad input and mismatched state are refused", "[dataloader][bad]") {
    TempDir td;
    make_shards(td, {41, 17});
    const std::string pat = td.file("train_*.bin");
    REQUIRE_THROWS_WITH(DataLoader(td.file("val_*.bin"), 2, 4, 0, 1, false, 60000),
                        NAMES("val_*.bin", "no token shard files match"));
    // shard 1 has 17 tokens; world*B*T+1 = 2*2*4+1 = 17 is fine, 2*2*5+1 = 21 is not
    CHECK_NOTHROW(DataLoader(pat, 2, 4, 0, 2, false, 60000));
    REQUIRE_THROWS_WITH(DataLoader(pat, 2, 5, 0, 2, false, 60000),
                        NAMES("train_000001.bin", "has 17 tokens but one step needs world*B*T+1 = 2*2*5+1 = 21"));
    REQUIRE_THROWS_WITH(DataLoader(pat, 2, 4, 0, 1, false, 10016),
                        NAMES("train_000001.bin", "token 10016 at index 16"));
    REQUIRE_THROWS_WITH(DataLoader(pat, 2, 4, 2, 2, false, 60000), NAMES(pat, "rank 2 is outside world size 2"));
    REQUIRE_THROWS_WITH(DataLoader(pat, 0, 4, 0, 1, false, 60000), NAMES(pat, "B > 0"));

    DataLoader a(pat, 2, 4, 0, 1, true, 60000);
    firsts(a, 2);
    std::string st = a.save_state();
    DataLoader other_T(pat, 2, 2, 0, 1, true, 60000);
    REQUIRE_THROWS_WITH(other_T.restore_state(st, "s.bin"), NAMES("s.bin", "saved with T = 4, this run has 2"));
    DataLoader noshuf(pat, 2, 4, 0, 1, false, 60000);
    REQUIRE_THROWS_WITH(noshuf.restore_state(st, "s.bin"), NAMES("s.bin", "shuffle = 1"));
    DataLoader seed(pat, 2, 4, 0, 1, true, 60000, 1);
    REQUIRE_THROWS_WITH(seed.restore_state(st, "s.bin"), NAMES("s.bin", "seed = 42"));
    DataLoader b(pat, 2, 4, 0, 1, true, 60000);
    REQUIRE_THROWS_WITH(b.restore_state(st.substr(0, 50), "s.bin"), NAMES("s.bin", "truncated"));
    REQUIRE_THROWS_WITH(b.restore_state("x" + st, "s.bin"), NAMES("s.bin", "bad magic"));
    std::string broken = st;
    broken[12 * 8 + 8] = 1;  // first shard-order entry becomes a duplicate
    broken[12 * 8 + 8 + 8] = 1;
    REQUIRE_THROWS_WITH(b.restore_state(broken, "s.bin"), NAMES("s.bin", "not a permutation"));
}
