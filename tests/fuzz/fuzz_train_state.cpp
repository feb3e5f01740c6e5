// Training-state file of a checkpoint (state_%08d_%05d.bin).
#include "train/train_state.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t n) {
    const std::string p = fuzz::file("state.bin", data, n);
    return fuzz::expect_errors_only([&] { noln::read_train_state(p); });
}
