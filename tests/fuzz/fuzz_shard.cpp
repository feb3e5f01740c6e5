// Token shard (llm.c format), read and validated against GPT-2's vocabulary.
#include "io/shard.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t n) {
    const std::string p = fuzz::file("shard.bin", data, n);
    return fuzz::expect_errors_only([&] {
        noln::validate_shard(p, 50257);
        noln::read_shard(p, 50257);
    });
}
