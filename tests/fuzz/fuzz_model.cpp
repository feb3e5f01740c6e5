// Model .bin (header, fp32/bf16 body, LN trailer), through what -e and noln_eval call.
#include "io/hf_gpt2.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t n) {
    const std::string p = fuzz::file("model.bin", data, n);
    return fuzz::expect_errors_only([&] { noln::read_any_model(p); });
}
