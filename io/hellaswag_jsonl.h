// HellaSwag's own JSON Lines (one example per line: "ctx", "endings" (4 strings), "label",
// an integer or a digit string as the Hugging Face copy has it) to the examples of llm.c's
// eval file (io/eval_file.h): the context tokenized as is, each ending as " " + ending, as
// llm.c's HellaSwag preparation does. `prepare_shards --hellaswag OUT.bin` uses it.
#pragma once
#include <string>
#include <vector>

#include "io/bpe.h"
#include "io/eval_file.h"

namespace noln {

// Throws naming the file and line on a malformed example.
std::vector<EvalExample> read_hellaswag_jsonl(const std::string& path, Bpe& bpe);

}  // namespace noln
