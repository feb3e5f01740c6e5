// Small helpers shared by the eval/export tests: a tiny random GPT-2 whose LayerNorm
// parameters are not the trivial 1/0 (so a wrong gamma/beta handling shows up).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "host/gpt2_config.h"
#include "host/ln_paths.h"

namespace evaltest {

inline noln::GPT2Config tiny_config(int L = 2, int C = 16, int NH = 2, int V = 64, int maxT = 16) {
    noln::GPT2Config c;
    c.max_seq_len = maxT;
    c.vocab_size = V;
    c.padded_vocab_size = (V + 127) / 128 * 128;
    c.num_layers = L;
    c.num_heads = NH;
    c.channels = C;
    return c;
}

// Fresh dN-style weights times `gain` (so the logits are far from uniform), LayerNorm
// gammas 1 + 0.3 N(0,1) and betas 0.1 N(0,1).
inline std::vector<float> random_params(const noln::GPT2Config& c, uint64_t seed, float gain = 15.0f) {
    std::vector<float> p(noln::num_parameters(c));
    noln::gpt2_init_params(c, p.data(), seed);
    for (float& x : p) x *= gain;
    std::mt19937 rng((uint32_t)seed + 7);
    std::normal_distribution<float> n01(0.0f, 1.0f);
    size_t sizes[noln::NUM_PARAM_TENSORS];
    noln::param_sizes(c, sizes);
    for (int t : {noln::P_LN1W, noln::P_LN2W, noln::P_LNFW}) {
        float* g = p.data() + noln::param_offset(c, t);
        for (size_t i = 0; i < sizes[t]; i++) g[i] = 1.0f + 0.3f * n01(rng);
    }
    for (int t : {noln::P_LN1B, noln::P_LN2B, noln::P_LNFB}) {
        float* b = p.data() + noln::param_offset(c, t);
        for (size_t i = 0; i < sizes[t]; i++) b[i] = 0.1f * n01(rng);
    }
    return p;
}

// Every path FROZEN with distinct, plausible divisors (ln1qk == ln1v per layer).
inline noln::LNState frozen_state(int L, float base = 0.7f) {
    noln::LNState s(L);
    for (int l = 0; l < L; l++) {
        s.path(noln::PATH_LN2, l) = {true, base + 0.3f * l, 1.0f};
        s.path(noln::PATH_LN1QK, l) = {true, base * 1.5f + 0.2f * l, 1.0f};
        s.path(noln::PATH_LN1V, l) = s.path(noln::PATH_LN1QK, l);
    }
    s.path(noln::PATH_LNF) = {true, base * 3.0f, 1.0f};
    return s;
}

}  // namespace evaltest
