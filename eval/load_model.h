// A model to evaluate or start from, whatever form it comes in: a Hugging Face GPT-2 folder
// or model.safetensors (io/hf_gpt2.h), or an llm.c / noln model file (io/model_file.h).
#pragma once
#include <string>

#include "io/model_file.h"

namespace noln {

// True when `path` names a Hugging Face GPT-2 (a folder, or a file ending in .safetensors).
bool is_hf_model_path(const std::string& path);
ModelFile load_model_any(const std::string& path);

}  // namespace noln
