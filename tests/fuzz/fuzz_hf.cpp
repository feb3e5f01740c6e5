// A Hugging Face folder: the input is config.json, one NUL byte, then model.safetensors
// (tests/fuzz/make_seeds.cpp writes seeds that way). Covers the JSON parser, the safetensors
// header and the HF import, LN-free form included.
#include <cstring>

#include "io/hf_gpt2.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t n) {
    const uint8_t* nul = (const uint8_t*)memchr(data, 0, n);
    const size_t cfg = nul ? (size_t)(nul - data) : n;
    fuzz::file("config.json", data, cfg);
    fuzz::file("model.safetensors", nul ? nul + 1 : data + n, nul ? n - cfg - 1 : 0);
    return fuzz::expect_errors_only([&] { noln::read_hf_gpt2(fuzz::dir()); });
}
