// Hugging Face GPT-2 import and export (docs/formats.md "Hugging Face GPT-2"):
// model.safetensors + config.json <-> our flat fp32 parameters in llm.c's order.
// HF's Conv1D stores weights as (IN, OUT), the transpose of our (OUT, IN); wte is padded to
// a multiple of 128 rows on import and cut back to vocab_size on export; lm_head is tied
// (the export can write an untied one: HFWriteExtras).
#pragma once
#include <string>
#include <vector>

#include "io/model_file.h"

namespace noln {

// path: a folder holding model.safetensors and config.json, or a .safetensors file with
// config.json beside it. Tensor names may carry a "transformer." prefix; F32/F16/BF16.
// Returns version 3, has_ln_state false, every LN path REAL. *layer_norm_epsilon (when
// given) receives config.json's value (GPT-2's, our LN_EPS, when absent).
ModelFile read_hf_gpt2(const std::string& path, double* layer_norm_epsilon = nullptr);

// Writes dir/model.safetensors (F32, names without prefix, "__metadata__": {"format": "pt"})
// and dir/config.json (a GPT2LMHeadModel config with this layer_norm_epsilon); dir is
// created if missing. params: num_parameters(c) floats; the LayerNorm weights are written
// exactly as given, so a caller exporting an LN-free model passes a copy whose ln gammas it
// has already rescaled (docs/method.md §7, eval/export_hf.h). Both files are written atomically.
// extras (optional): an untied unembedding, written as lm_head.weight (vocab_size x C) with
// "tie_word_embeddings": false, and more config.json members (each `"key": value`).
struct HFWriteExtras {
    const float* lm_head = nullptr;
    std::vector<std::string> config_members;
};
void write_hf_gpt2(const std::string& dir, const GPT2Config& c, const float* params,
                   double layer_norm_epsilon = LN_EPS, const HFWriteExtras& extras = HFWriteExtras());

// Vocab rounded up to a multiple of 128 (50257 -> 50304).
int padded_vocab(int vocab_size);

}  // namespace noln
