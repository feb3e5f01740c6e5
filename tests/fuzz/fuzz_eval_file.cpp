// HellaSwag eval file (llm.c format), tokens checked against GPT-2's vocabulary.
#include "io/eval_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t n) {
    const std::string p = fuzz::file("eval.bin", data, n);
    return fuzz::expect_errors_only([&] { noln::read_eval_file(p, 50257); });
}
