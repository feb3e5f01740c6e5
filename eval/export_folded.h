// The exact folded export (docs/export.md "The folded export"): an LN-free model as a GPT-2
// in which no LayerNorm does anything. Every writer to the residual stream (wte, wpe, both
// c_proj weights and biases) is mean-centred, so the residual stream has mean zero and the
// centring inside each LN is a no-op; each frozen LN's gamma/sigma and beta are folded into
// the linear layer that reads it (c_attn with ln1qk's sigma for its Q and K columns and
// ln1v's for its V columns, c_fc with ln2's); ln_f's into an untied lm_head. What is left of
// each LN is written as the identity a stock Hugging Face GPT-2 can run: weight 1e6,
// bias 0, layer_norm_epsilon 1e12, except ln_f's bias, a constant 1 that carries the
// vocabulary bias b_f . wte[v] through lm_head's row sums (HF's lm_head has no bias).
#pragma once
#include <string>
#include <vector>

#include "host/gpt2_config.h"
#include "host/ln_paths.h"

namespace noln {

struct FoldedModel {
    std::vector<float> params;   // llm.c's order and shapes, folded (see the top of this file)
    std::vector<float> lm_head;  // vocab_size x C, untied; row v sums to b_f . wte[v]
};

// Throws noln::Error (naming `where`) unless the state folds exactly: every path FROZEN
// with a finite sigma > 0, no BOS/EOT special divisor (ln1qk != ln1v is fine).
void check_foldable(const LNState& ln, const std::string& where);

FoldedModel fold_lnfree(const GPT2Config& c, const float* params, const LNState& ln);

// Writes dir/model.safetensors (with lm_head.weight) and dir/config.json
// ("tie_word_embeddings": false, "noln_folded": true, layer_norm_epsilon 1e12). Atomic.
void export_hf_folded(const std::string& dir, const GPT2Config& c, const float* params,
                      const LNState& ln);

}  // namespace noln
