#include <catch2/catch.hpp>

#include "train/lr_schedule.h"

using namespace noln;

TEST_CASE("warmup is linear, then cosine to lr*q at the horizon, clamped after", "[lr]") {
    LRSchedule s{1.0f, 10, 0.1f, 110};
    CHECK(s.at(1) == Approx(0.1));
    CHECK(s.at(5) == Approx(0.5));
    CHECK(s.at(10) == Approx(1.0));
    CHECK(s.at(60) == Approx(0.55));             // halfway: (1 + 0.1) / 2
    CHECK(s.at(35) == Approx(0.1 + 0.9 * (1 + 0.70710678) / 2));  // a quarter of the way
    CHECK(s.at(110) == Approx(0.1));
    CHECK(s.at(500) == Approx(0.1));
    CHECK(s.at(11) < 1.0f);
}

TEST_CASE("-u 0 -q 1 is constant", "[lr]") {
    LRSchedule s{6e-4f, 0, 1.0f, 100};
    for (int step : {1, 2, 50, 100, 1000}) CHECK(s.at(step) == Approx(6e-4));
}

TEST_CASE("no warmup: cosine starts at step 0", "[lr]") {
    LRSchedule s{2.0f, 0, 0.0f, 4};
    CHECK(s.at(2) == Approx(1.0));  // halfway from 2 to 0
    CHECK(s.at(4) == Approx(0.0).margin(1e-7));
}
