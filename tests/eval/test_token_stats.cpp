// The evaluation table's per-token statistics (eval/token_stats.h): percentiles against
// values worked out by hand, and the per-token losses of a tiny model against eval_val_loss.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "eval/eval.h"
#include "eval/token_stats.h"
#include "host/error.h"
#include "io/dataloader.h"
#include "io/file_io.h"
#include "io/shard.h"
#include "tests/eval/eval_util.h"

using namespace noln;

TEST_CASE("loss statistics of a hand-computed case", "[eval][stats]") {
    // sorted 1 2 3 4 10: mean 4; median at position 2 -> 3; p95 at 4*0.95 = 3.8 ->
    // 4 + 0.8*(10-4) = 8.8; p99.9 at 3.996 -> 4 + 0.996*6 = 9.976; max 10
    std::vector<float> x = {4, 1, 10, 3, 2};
    LossStats s = loss_stats(x, "case");
    CHECK(s.n == 5);
    CHECK(s.mean == Approx(4.0).epsilon(1e-12));
    CHECK(s.median == Approx(3.0).epsilon(1e-12));
    CHECK(s.p95 == Approx(8.8).epsilon(1e-12));
    CHECK(s.p999 == Approx(9.976).epsilon(1e-12));
    CHECK(s.max == 10.0);
    // even count: the median is halfway between the middle two
    std::vector<float> y = {5, 1, 2, 8};
    CHECK(loss_stats(y, "even").median == Approx(3.5).epsilon(1e-12));
    // 0, 1, ..., 1000: each percentile is exactly its rank
    std::vector<float> z;
    for (int i = 1000; i >= 0; i--) z.push_back((float)i);
    LossStats t = loss_stats(z, "ramp");
    CHECK(t.median == 500.0);
    CHECK(t.p95 == Approx(950.0).epsilon(1e-12));
    CHECK(t.p999 == Approx(999.0).epsilon(1e-12));
    CHECK(t.mean == 500.0);
    // one outlier among many: the mean moves, the median does not (paper (b)'s XL on the Pile)
    std::vector<float> w(1000, 3.0f);
    w[17] = 3000.0f;
    LossStats u = loss_stats(w, "outlier");
    CHECK(u.median == 3.0);
    CHECK(u.mean == Approx(5.997).epsilon(1e-9));
    CHECK(u.max == 3000.0);
    CHECK(u.p999 == Approx(3.0 + 0.001 * 2997.0).epsilon(1e-9));  // position 998.001
    std::vector<float> empty;
    CHECK_THROWS_WITH(loss_stats(empty, "nothing"), Catch::Contains("nothing") && Catch::Contains("no tokens"));
    std::vector<float> bad = {1.0f, NAN};
    CHECK_THROWS_WITH(loss_stats(bad, "nan set"), Catch::Contains("nan set"));
}

TEST_CASE("per-token losses of a tiny model average to eval_val_loss", "[eval][stats]") {
    GPT2Config c = evaltest::tiny_config(2, 16, 2, 64, 16);
    std::vector<float> p = evaltest::random_params(c, 31, 6.0f);
    GPT2CPU m(c);
    m.set_parameters(p.data());
    std::mt19937 rng(4);
    std::vector<int> tok(2 * 8 * 4 + 1);
    for (int& t : tok) t = (int)(rng() % 64);
    const std::string dir = "build/tests/eval/tmp/stats";
    make_dirs(dir);
    write_shard(dir + "/val_000000.bin", tok);
    DataLoader val(dir + "/val_*.bin", 2, 8, 0, 1, false, 64);
    std::vector<float> tl = eval_token_losses(m, val, 0);
    REQUIRE(tl.size() == 4 * 2 * 8);
    LossStats s = loss_stats(tl, "tiny");
    CHECK(s.mean == Approx(eval_val_loss(m, val, 0)).epsilon(1e-5));
    CHECK(s.max > s.p999);
    CHECK(s.p95 > s.median);
    CHECK(eval_token_losses(m, val, 2).size() == 2 * 2 * 8);
}
