// llm.c's debug state (docs/formats.md, Debug state): one batch, the reference logits, loss and every
// parameter gradient, used to check a model implementation. We append an optional "noln
// trailer" after the gradients (llm.c's reader stops before it) with the loss split into its
// CE and aux parts, the aux lambda, AdamW hyperparameters and the losses of N optimizer steps
// on the same batch. Layout: docs/cpu-reference.md.
#pragma once
#include <string>
#include <vector>

#include "host/gpt2_config.h"
#include "host/model.h"

namespace noln {

constexpr int DEBUG_STATE_MAGIC = 20240327;
constexpr int DEBUG_STATE_VERSION = 2;
constexpr int DEBUG_TRAILER_MAGIC = 20241121;
constexpr int DEBUG_TRAILER_VERSION = 1;
constexpr int DEBUG_TRAILER_WORDS = 32;  // 16 int32 then 16 float32, then the step losses

struct DebugState {
    int B = 0, T = 0;
    std::vector<int> x, y;        // B*T each; y < 0 is a masked target
    std::vector<float> logits;    // B*T*V (unpadded V)
    float loss = 0.0f;            // ce + aux
    std::vector<float> grads;     // num_parameters(config), file order, wte padded with zeros
    // The noln trailer (absent in llm.c's files).
    bool has_trailer = false;
    float aux_lambda = 0.0f, ce = 0.0f, aux = 0.0f;
    AdamW adamw;
    std::vector<float> step_losses;  // loss before each of N AdamW steps on this batch
};

// Throws noln::Error naming the file on a wrong magic/version, a truncated file or trailer,
// trailing garbage, sizes that do not match `c`, or token ids outside the vocabulary.
DebugState read_debug_state(const std::string& path, const GPT2Config& c);
// Atomic (temp + rename). Writes the trailer when s.has_trailer.
void write_debug_state(const std::string& path, const GPT2Config& c, const DebugState& s);

}  // namespace noln
