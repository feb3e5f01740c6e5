// Debug state (llm.c's layout plus our trailer) for the model shape of fuzz::small_config.
#include "io/debug_state.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t n) {
    const std::string p = fuzz::file("debug.bin", data, n);
    return fuzz::expect_errors_only([&] { noln::read_debug_state(p, fuzz::small_config()); });
}
