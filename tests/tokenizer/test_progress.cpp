// io/progress.h: the status line's numbers (rate, ETA, units) for fixed inputs.
#include <catch2/catch.hpp>

#include "io/progress.h"

using noln::Progress;

TEST_CASE("progress line shows amount, percent, rate and ETA", "[progress]") {
    // 5 MB of 10 MB in 2 s: 2.5 MB/s, 2 s to go
    CHECK(Progress::format_line("tokenizing", "B", 5000000, 10000000, 2.0) ==
          "tokenizing: 5.0 MB / 10.0 MB ( 50%), 2.5 MB/s, ETA 0:02");
    // counts too use powers of 1000; no ETA once done
    CHECK(Progress::format_line("shards", "tok", 2500000, 2500000, 0.5) ==
          "shards: 2.50M tok / 2.50M tok (100%), 5.00M tok/s");
    // nothing measured yet: no rate, no ETA
    CHECK(Progress::format_line("x", "B", 0, 100, 0.0) == "x: 0 B / 100 B (  0%)");
    // long jobs print hours
    CHECK(Progress::format_line("x", "tok", 1000, 3601000, 1.0) ==
          "x: 1.00k tok / 3.60M tok (  0%), 1.00k tok/s, ETA 1:00:00");
}

TEST_CASE("progress with zero total and repeated finish is harmless", "[progress]") {
    Progress p("empty", 0, "B");
    p.update(0);
    p.finish();
    p.finish();
    p.update(5);
    SUCCEED();
}
