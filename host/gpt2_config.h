// GPT-2 shape and the 16 parameter tensors in llm.c's order (see README "Formats").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace noln {

struct GPT2Config {
    int max_seq_len = 0;        // maxT, wpe rows
    int vocab_size = 0;         // V (50257 for GPT-2)
    int padded_vocab_size = 0;  // Vp: wte rows; logits beyond V are ignored
    int num_layers = 0;         // L
    int num_heads = 0;          // NH
    int channels = 0;           // C
};

constexpr int NUM_PARAM_TENSORS = 16;
enum ParamTensor {
    P_WTE, P_WPE, P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_ATTPROJW, P_ATTPROJB,
    P_LN2W, P_LN2B, P_FCW, P_FCB, P_FCPROJW, P_FCPROJB, P_LNFW, P_LNFB
};
extern const char* const PARAM_NAMES[NUM_PARAM_TENSORS];  // "wte", "wpe", "ln1w", ...

// Element counts of the 16 tensors, in file order.
void param_sizes(const GPT2Config& c, size_t sizes[NUM_PARAM_TENSORS]);
size_t num_parameters(const GPT2Config& c);
// Offset (in elements) of tensor t inside the flat parameter buffer.
size_t param_offset(const GPT2Config& c, int t);
// True for tensors that get weight decay: the 2-D ones (matmul weights and embeddings).
bool param_is_decayed(int t);
// True for the 12 tensors stored with the layers stacked (L times one layer's values);
// false for wte, wpe, lnfw and lnfb.
bool param_is_per_layer(int t);

// Throws noln::Error naming `where` if the shape is impossible (non-positive sizes,
// C not divisible by NH, Vp < V, sizes whose parameter count overflows).
void validate_config(const GPT2Config& c, const std::string& where);

// A GPT-2 of depth `depth` in the usual family (d12 = 124M, d24 = 350M, d36 = 774M,
// d48 = 1558M); other depths get channels 64*depth and heads max(1, depth) as llm.c does.
GPT2Config gpt2_config_for_depth(int depth, int max_seq_len = 1024, int vocab_size = 50257,
                                 int padded_vocab_size = 50304);

// dN-style fresh weights, deterministic in `seed`: matmul weights and embeddings
// N(0, 0.02), the two residual projections (attprojw, fcprojw) N(0, 0.02/sqrt(2L)),
// biases 0, LayerNorm weights 1, wte's padding rows (>= V) 0. params: num_parameters(c).
// Every backend starts a `dN` model from these same numbers.
void gpt2_init_params(const GPT2Config& c, float* params, uint64_t seed);

}  // namespace noln
