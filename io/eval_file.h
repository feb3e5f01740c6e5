// HellaSwag-style eval file (docs/formats.md, HellaSwag eval file): a 256-int32 header (magic
// 20240522, version 1, example count, longest example in bytes), then per example a uint16
// record: 65535, record bytes, example index, label, completion count (4), context length,
// context tokens, then per completion its length and tokens.
#pragma once
#include <string>
#include <vector>

namespace noln {

constexpr int EVAL_MAGIC = 20240522;
constexpr int EVAL_COMPLETIONS = 4;

struct EvalExample {
    int index = 0;  // position in the file (checked to be sequential)
    int label = 0;  // the correct completion, 0..3
    std::vector<int> context;
    std::vector<std::vector<int>> completions;  // 4, each non-empty
};

struct EvalFile {
    int longest_example_bytes = 0;  // header slot 3
    std::vector<EvalExample> examples;
};

// vocab_size > 0: every token must be below it. Errors name the file, the example and the
// problem.
EvalFile read_eval_file(const std::string& path, int vocab_size = 0);
// Indices are rewritten to 0..n-1; the header's longest example is computed. Atomic.
void write_eval_file(const std::string& path, const std::vector<EvalExample>& examples);

}  // namespace noln
