// Checkpoint retention (-nk, -nm; llm.c's meanings): which complete checkpoints go.
#include <catch2/catch.hpp>

#include <vector>

#include "train/train_state.h"

using namespace noln;
using V = std::vector<int>;

TEST_CASE("-nk keeps the newest N checkpoints, -nm's majors stay", "[ckpt]") {
    const V steps = {2, 4, 6, 8, 10, 12};
    CHECK(checkpoints_to_delete(steps, 0, 0) == V{});             // -nk 0: keep all
    CHECK(checkpoints_to_delete(steps, 2, 0) == V{2, 4, 6, 8});   // the newest two stay
    CHECK(checkpoints_to_delete(steps, 2, 4) == V{2, 6});         // 4 and 8 are major
    CHECK(checkpoints_to_delete(steps, 6, 0) == V{});
    CHECK(checkpoints_to_delete(steps, 9, 3) == V{});
    CHECK(checkpoints_to_delete({12, 2, 8}, 1, 0) == V{2, 8});    // any order in, ascending out
    CHECK(checkpoints_to_delete({}, 3, 2) == V{});
}
