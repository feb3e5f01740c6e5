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
// Returns version 3. With layer_norm_epsilon 1e-5 (GPT-2's, also when absent):
// has_ln_state false, every LN path REAL. With 1e12, the LN-free form (docs/export.md):
// has_ln_state true, every path FROZEN with the sigmas config.json's "noln_ln_sigmas"
// records (1 without the record) and each gamma divided back by 1e6/sigma, so the model
// computes what the exported one does. Any other epsilon is refused. *layer_norm_epsilon
// (when given) receives the value. Every tensor is checked before the parameters are allocated.
ModelFile read_hf_gpt2(const std::string& path, double* layer_norm_epsilon = nullptr);

// What -e and noln_eval take: a Hugging Face folder or .safetensors file (read_hf_gpt2),
// else a model .bin (read_model_file).
ModelFile read_any_model(const std::string& path);

// Writes dir/model.safetensors (F32, names without prefix, "__metadata__": {"format": "pt"})
// and dir/config.json (a GPT2LMHeadModel config with this layer_norm_epsilon); dir is
// created if missing. params: num_parameters(c) floats; the LayerNorm weights are written
// exactly as given, so a caller exporting an LN-free model passes a copy whose ln gammas it
// has already rescaled (docs/method.md §7, eval/export_hf.h), and passes lnfree_sigmas: the
// divisor each module's gamma holds (ln1v equal to ln1qk), recorded in config.json as
// "noln_ln_sigmas" for read_hf_gpt2. Both files are written atomically.
// extras (optional): an untied unembedding, written as lm_head.weight (vocab_size x C) with
// "tie_word_embeddings": false, and more config.json members (each `"key": value`).
struct HFWriteExtras {
    const float* lm_head = nullptr;
    std::vector<std::string> config_members;
};
void write_hf_gpt2(const std::string& dir, const GPT2Config& c, const float* params,
                   double layer_norm_epsilon = LN_EPS, const LNState* lnfree_sigmas = nullptr,
                   const HFWriteExtras& extras = HFWriteExtras());

// Vocab rounded up to a multiple of 128 (50257 -> 50304).
int padded_vocab(int vocab_size);

}  // namespace noln
