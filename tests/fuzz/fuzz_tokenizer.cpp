// llm.c's tokenizer .bin, then a decode of the first and last ids.
#include "io/tokenizer_bin.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t n) {
    const std::string p = fuzz::file("tok.bin", data, n);
    return fuzz::expect_errors_only([&] {
        noln::TokenizerBin t = noln::read_tokenizer_bin(p);
        t.decode(0);
        t.decode(t.size() - 1);
        t.decode(t.eot_token);
    });
}
