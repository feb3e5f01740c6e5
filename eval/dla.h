// Direct logit attribution (DLA) at the last position of one sequence (docs/dla.md), read
// from the CPU model's last forward. The residual stream ln_f reads is a sum of components
// (the token and position embeddings, every attention head through its slice of c_proj,
// every c_proj bias, every MLP); ln_f is linear in it when its path is FROZEN, so then
//   logit[v] = sum_c  s * (c - mean(c)) . (g_f * wte[v])  +  b_f . wte[v]
// exactly (s = 1/sigma_f). With a REAL ln_f, "naive DLA" uses the same formula with s frozen
// at the input's own 1/sd, and the direct effect of a component (the logit change when it
// alone is taken out of ln_f's input, ln_f recomputed) differs from it: their normalised
// mean absolute error is what paper (b) reports as DLA's error.
#pragma once
#include <string>
#include <vector>

#include "cpu/gpt2_core.h"
#include "host/gpt2_config.h"
#include "host/ln_paths.h"

namespace noln {

// What DLA reads of a forward of ONE sequence of T tokens (B = 1).
struct DlaActs {
    int T = 0;
    std::vector<const float*> att_out;  // per layer: (T, C), attention output before c_proj
    std::vector<const float*> mlp_out;  // per layer: (T, C), MLP output including its bias
    const float* lnf_input = nullptr;   // (T, C)
    const float* lnf_scale = nullptr;   // (T): the 1/divisor ln_f applied to each token
    const float* logits = nullptr;      // (T, padded V): the engine's logits
};

// The views of a GPT2Core's last forward (which must have had B = 1).
inline DlaActs dla_acts(const GPT2Core<float>& m) {
    DlaActs a;
    a.T = m.T;
    for (int l = 0; l < m.cfg.num_layers; l++) {
        a.att_out.push_back(m.att_out(l));
        a.mlp_out.push_back(m.mlp_out(l));
    }
    a.lnf_input = m.lnf_input();
    a.lnf_scale = m.lnf_scale();
    a.logits = m.logits.data();
    return a;
}

// One logit, decomposed.
struct DlaLogit {
    int token = 0;
    double logit = 0;       // the engine's fp32 logit
    double beta_term = 0;   // b_f . wte[token]: ln_f's bias, the same whatever the input
    std::vector<double> dla;     // per component (DlaResult::names order): its attribution
    std::vector<double> direct;  // per component: its direct effect (ablation through ln_f)
    double sum = 0;         // sum(dla) + beta_term
    double sum_error() const { return sum - logit; }
};

struct DlaResult {
    std::vector<std::string> names;  // "wte", "wpe", "L0.H3", "L0.attn_bias", "L0.mlp", "L0.mlp_bias", ...
    bool lnf_frozen = false;         // true: DLA is exact (equals the direct effect)
    double lnf_scale = 0;            // the 1/divisor ln_f applied at the last position
    double max_abs_logit = 0;        // max_v |logit[v]| at the last position (the scale of errors)
    std::vector<DlaLogit> logits;    // the requested tokens, in request order
    // sum |dla - direct| / sum |direct| over every component of every requested logit
    double nmae = 0;
};

// The DLA of `tokens` (each in [0, vocab)) at position T-1 of the sequence `inputs`,
// in double. params: llm.c's order; ln: the state the forward ran with. Throws noln::Error
// on a token outside the vocabulary or activations that do not match the config.
DlaResult direct_logit_attribution(const GPT2Config& c, const float* params, const LNState& ln,
                                   const int* inputs, const DlaActs& a,
                                   const std::vector<int>& tokens);

// The k tokens with the largest engine logits at position T-1, largest first.
std::vector<int> top_tokens(const GPT2Config& c, const DlaActs& a, int k);

}  // namespace noln
