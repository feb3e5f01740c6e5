#include "train/presets.h"

#include <cmath>

namespace noln {

// Paper (b)'s momenta for Large and XL: 0.9 per 32 sequences, rescaled to their batches.
static const float M_LARGE = (float)std::pow(0.9, 28.0 / 32.0);
static const float M_XL = (float)std::pow(0.9, 18.0 / 32.0);

static const std::vector<Preset> PRESETS = {
    // name, what, remove {ln2, ln1qk, ln1v, lnf}, steps, horizon, tokens/step, B, T,
    // lr, min lr, warmup, wd, beta1, beta2, eps, clip, lambda, momentum
    {"paper-a-small", "paper (a), GPT-2 Small: fixed sigmas (momentum 1), no aux loss",
     {{{200, 20}, {440, 20}, {680, 30}, {1040, 0}}}, 1200, 2000, 491520, 4, 1024,
     6e-4f, 6e-5f, 100, 0.1f, 0.9f, 0.95f, 1e-8f, 1.0f, 0.0f, 1.0f},
    {"paper-b-small", "paper (b), GPT-2 Small",
     {{{20, 2}, {44, 2}, {68, 3}, {104, 0}}}, 300, 300, 524288, 4, 1024,
     6e-4f, 3e-4f, 25, 0.01f, 0.9f, 0.999f, 1e-8f, 1.0f, 0.1f, 0.9f},
    {"paper-b-medium", "paper (b), GPT-2 Medium",
     {{{20, 2}, {68, 2}, {116, 3}, {188, 0}}}, 500, 500, 518144, 2, 1024,
     6e-4f, 3e-4f, 10, 0.01f, 0.9f, 0.999f, 1e-8f, 1.0f, 0.1f, 0.9f},
    {"paper-b-large", "paper (b), GPT-2 Large",
     {{{30, 4}, {174, 4}, {318, 6}, {534, 0}}}, 600, 1200, 516096, 4, 1024,
     3e-4f, 4e-5f, 15, 0.01f, 0.9f, 0.999f, 1e-8f, 1.0f, 0.03f, M_LARGE},
    {"paper-b-xl", "paper (b), GPT-2 XL",
     {{{50, 4}, {242, 4}, {434, 6}, {722, 0}}}, 800, 1200, 516096, 4, 1024,
     1e-4f, 2e-5f, 20, 0.01f, 0.9f, 0.999f, 1e-8f, 1.0f, 0.01f, M_XL},
    {"vanilla", "paper (b) Small's hyperparameters with every LayerNorm kept (the control run)",
     {{{0, 0}, {0, 0}, {0, 0}, {0, 0}}}, 300, 300, 524288, 4, 1024,
     6e-4f, 3e-4f, 25, 0.01f, 0.9f, 0.999f, 1e-8f, 1.0f, 0.1f, 0.9f},
    // The CPU demo (docs/demo.md): a d4 model 64 wide, T=64, 1024 tokens/step (the 50257-word
    // unembedding makes every token expensive on a CPU); paper (b)'s shape squeezed into
    // 80 steps (ln2 first, ln1v with the longest gap, lnf last, then steps to heal).
    {"tiny", "CPU demo: small models, T=64, removal squeezed into 80 steps",
     {{{10, 2}, {20, 2}, {30, 3}, {45, 0}}}, 80, 80, 1024, 16, 64,
     1e-3f, 2e-4f, 5, 0.01f, 0.9f, 0.999f, 1e-8f, 1.0f, 0.1f, 0.9f},
};

const std::vector<Preset>& presets() { return PRESETS; }

const Preset* find_preset(const std::string& name) {
    for (const Preset& p : PRESETS)
        if (name == p.name) return &p;
    return nullptr;
}

std::string preset_names() {
    std::string out;
    for (const Preset& p : PRESETS) out += (out.empty() ? "" : "|") + std::string(p.name);
    return out;
}

}  // namespace noln
