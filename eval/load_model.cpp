#include "eval/load_model.h"

#include "io/file_io.h"
#include "io/hf_gpt2.h"

namespace noln {

bool is_hf_model_path(const std::string& p) {
    return is_directory(p) || (p.size() > 12 && p.compare(p.size() - 12, 12, ".safetensors") == 0);
}

ModelFile load_model_any(const std::string& p) { return is_hf_model_path(p) ? read_hf_gpt2(p) : read_model_file(p); }

}  // namespace noln
