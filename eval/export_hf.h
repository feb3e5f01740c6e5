// LN-free export for Hugging Face GPT2LMHeadModel / TransformerLens (docs/method.md §7, the
// "eps trick"): every LayerNorm keeps its HF module, with gamma <- gamma * 1e6 / sigma and
// layer_norm_epsilon = 1e12, so sqrt(var + 1e12) ~= 1e6 and the stock module computes
// (x - mean) * gamma / sigma + beta, which is our FROZEN path. See docs/export.md.
#pragma once
#include <string>
#include <vector>

#include "host/gpt2_config.h"
#include "host/ln_paths.h"
#include "host/model.h"

namespace noln {

// The epsilon written to config.json and the scale folded into every gamma:
// LNFREE_EPS and LNFREE_SCALE (host/ln_paths.h), shared with the importer.

struct ExportOptions {
    // ln1qk[l] and ln1v[l] frozen with different sigmas (each path freezes its own copy of
    // the block's EMA, at its own step): instead of refusing, write ln_1 with ln1qk's sigma
    // and fold r = s_qk/s_v into the V columns of c_attn (W_v <- r W_v,
    // b_v <- b_v + (1-r) W_v beta), which is exact. Off by default (docs/export.md).
    bool fold_ln1_split = false;
};

// Throws noln::Error (naming `where`) unless the state can be expressed by a stock HF GPT-2:
// every path FROZEN, no special (BOS/EOT) divisor on, and ln1qk[l].sigma == ln1v[l].sigma
// for every layer (HF has one ln_1 per block, feeding Q, K and V alike).
void check_lnfree_exportable(const LNState& ln, const std::string& where,
                             const ExportOptions& o = ExportOptions());

// The parameters (llm.c's order and shapes) that the export writes: gammas scaled by
// 1e6/sigma and, with fold_ln1_split, V columns folded. Throws like the export.
std::vector<float> lnfree_hf_params(const GPT2Config& c, const float* params, const LNState& ln,
                                    const ExportOptions& o = ExportOptions());

// Writes dir/model.safetensors and dir/config.json (dir is created if missing).
// params: num_parameters(c) floats in llm.c's order. Throws noln::Error on a state that
// check_lnfree_exportable refuses, or on any write failure.
void export_hf_lnfree(const std::string& dir, const GPT2Config& c, const float* params,
                      const LNState& ln);
void export_hf_lnfree(const std::string& dir, const GPT2Config& c, const float* params,
                      const LNState& ln, const ExportOptions& o);

// The engine side of scripts/check_export.py: runs m.forward(tokens, B, T) and writes
// path = int32 {20250603, B, T, V}, int32 tokens[B*T], float32 logits[B*T*V]. Atomic.
constexpr int LOGITS_REF_MAGIC = 20250603;
void write_logits_ref(const std::string& path, Model& m, const int* tokens, int B, int T);

}  // namespace noln
