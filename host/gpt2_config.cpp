#include "host/gpt2_config.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <random>

#include "host/error.h"

namespace noln {

const char* const PARAM_NAMES[NUM_PARAM_TENSORS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};

void param_sizes(const GPT2Config& cfg, size_t s[NUM_PARAM_TENSORS]) {
    const size_t Vp = cfg.padded_vocab_size, C = cfg.channels, L = cfg.num_layers,
                 T = cfg.max_seq_len;
    s[P_WTE] = Vp * C;
    s[P_WPE] = T * C;
    s[P_LN1W] = L * C;
    s[P_LN1B] = L * C;
    s[P_QKVW] = L * 3 * C * C;
    s[P_QKVB] = L * 3 * C;
    s[P_ATTPROJW] = L * C * C;
    s[P_ATTPROJB] = L * C;
    s[P_LN2W] = L * C;
    s[P_LN2B] = L * C;
    s[P_FCW] = L * 4 * C * C;
    s[P_FCB] = L * 4 * C;
    s[P_FCPROJW] = L * C * 4 * C;
    s[P_FCPROJB] = L * C;
    s[P_LNFW] = C;
    s[P_LNFB] = C;
}

size_t num_parameters(const GPT2Config& c) {
    size_t s[NUM_PARAM_TENSORS], n = 0;
    param_sizes(c, s);
    for (size_t x : s) n += x;
    return n;
}

size_t param_offset(const GPT2Config& c, int t) {
    size_t s[NUM_PARAM_TENSORS], off = 0;
    param_sizes(c, s);
    for (int i = 0; i < t; i++) off += s[i];
    return off;
}

bool param_is_decayed(int t) {
    return t == P_WTE || t == P_WPE || t == P_QKVW || t == P_ATTPROJW || t == P_FCW ||
           t == P_FCPROJW;
}

bool param_is_per_layer(int t) { return t != P_WTE && t != P_WPE && t != P_LNFW && t != P_LNFB; }

void validate_config(const GPT2Config& c, const std::string& where) {
    const char* w = where.c_str();
    if (c.max_seq_len <= 0 || c.vocab_size <= 0 || c.padded_vocab_size <= 0 ||
        c.num_layers <= 0 || c.num_heads <= 0 || c.channels <= 0)
        fail("%s: invalid model config (max_seq_len=%d vocab_size=%d padded_vocab_size=%d "
             "num_layers=%d num_heads=%d channels=%d): every size must be positive",
             w, c.max_seq_len, c.vocab_size, c.padded_vocab_size, c.num_layers, c.num_heads,
             c.channels);
    if (c.padded_vocab_size < c.vocab_size)
        fail("%s: padded_vocab_size %d is smaller than vocab_size %d", w, c.padded_vocab_size,
             c.vocab_size);
    if (c.channels % c.num_heads != 0)
        fail("%s: channels %d is not divisible by num_heads %d", w, c.channels, c.num_heads);
    // Every tensor size must fit comfortably in size_t and the total in int64 bytes.
    const double C = c.channels, L = c.num_layers;
    double total = (double)c.padded_vocab_size * C + (double)c.max_seq_len * C + L * 12 * C * C +
                   L * 13 * C + 2 * C;
    if (total * 4 > (double)LLONG_MAX / 2)
        fail("%s: model config implies %.3g parameters, which overflows", w, total);
}

GPT2Config gpt2_config_for_depth(int depth, int max_seq_len, int vocab_size, int padded_vocab_size) {
    GPT2Config c;
    c.max_seq_len = max_seq_len;
    c.vocab_size = vocab_size;
    c.padded_vocab_size = padded_vocab_size;
    c.num_layers = depth;
    switch (depth) {
        case 12: c.channels = 768; c.num_heads = 12; break;
        case 24: c.channels = 1024; c.num_heads = 16; break;
        case 36: c.channels = 1280; c.num_heads = 20; break;
        case 48: c.channels = 1600; c.num_heads = 25; break;
        default: c.channels = 64 * depth; c.num_heads = depth; break;
    }
    return c;
}

void gpt2_init_params(const GPT2Config& c, float* params, uint64_t seed) {
    validate_config(c, "gpt2_init_params");
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(c, sizes);
    // Box-Muller over mt19937_64: the same numbers from every standard library.
    std::mt19937_64 rng(seed);
    auto uniform = [&] { return ((rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
    auto normal = [&] {
        return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
    };
    const double resid_std = 0.02 / std::sqrt(2.0 * c.num_layers);
    size_t off = 0;
    for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
        float* p = params + off;
        if (k == P_LN1W || k == P_LN2W || k == P_LNFW) {
            for (size_t i = 0; i < sizes[k]; i++) p[i] = 1.0f;
        } else if (param_is_decayed(k)) {
            const double sd = (k == P_ATTPROJW || k == P_FCPROJW) ? resid_std : 0.02;
            for (size_t i = 0; i < sizes[k]; i++) p[i] = (float)(sd * normal());
            if (k == P_WTE)  // vocab padding rows stay zero
                std::memset(p + (size_t)c.vocab_size * c.channels, 0,
                            (sizes[k] - (size_t)c.vocab_size * c.channels) * sizeof(float));
        } else {
            std::memset(p, 0, sizes[k] * sizeof(float));
        }
        off += sizes[k];
    }
}

}  // namespace noln
