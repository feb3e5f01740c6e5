// llm.c's model checkpoint (docs/formats.md, Model checkpoint): a 256-int32 header with
// magic 20240326, version 3 (fp32) or 5 (bf16), then the 16 parameter tensors in llm.c's
// order. Our files may carry the LN state in a trailer right after the parameter body;
// llm.c ignores trailing bytes, so it loads our files, and we load llm.c's (all paths REAL).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/gpt2_config.h"
#include "host/ln_paths.h"

namespace noln {

constexpr int MODEL_MAGIC = 20240326;
constexpr int MODEL_VERSION_FP32 = 3;
constexpr int MODEL_VERSION_BF16 = 5;
constexpr int LN_TRAILER_MAGIC = 20241120;
constexpr int LN_TRAILER_VERSION = 2;  // 1 (no checkpoint id, no checksum) is still read
constexpr int LN_RECORD_BYTES = 12;  // int32 frozen, float32 sigma, float32 sigma_bos

struct ModelFile {
    GPT2Config config;
    int version = 0;            // 3 or 5, as stored
    std::vector<float> params;  // num_parameters(config) floats, llm.c's order (bf16 widened)
    bool has_ln_state = false;  // false: no trailer (an llm.c file); ln is then all REAL
    LNState ln;
    // Trailer version 2 (docs/formats.md): the checkpoint this file belongs to (step 0 and
    // run id 0 when it is none) and the FNV-1a 64 checksum of the file, verified on read.
    // All 0 for a file without a v2 trailer.
    int ckpt_step = 0;
    uint64_t run_id = 0;
    uint64_t checksum = 0;
};

// Which checkpoint a model file belongs to (the training state names the same).
struct CheckpointId {
    uint64_t run_id = 0;
    int step = 0;
};

// v3 fp32 / v5 bf16 -> fp32. Throws noln::Error naming the file and the problem (a v2
// trailer whose checksum does not match the file included).
ModelFile read_model_file(const std::string& path);
// Atomic (temp + rename). version 5 rounds to bf16 to nearest even. ln == nullptr: no
// trailer (a plain llm.c file); otherwise a v2 trailer naming `id` (none: step 0, run 0).
// Returns the file's checksum (0 without a trailer).
uint64_t write_model_file(const std::string& path, const GPT2Config& c, const float* params,
                          int version /*3 or 5*/, const LNState* ln /*nullptr: no trailer*/,
                          const CheckpointId* id = nullptr);

// bf16 conversions used by the v5 format (round to nearest even; NaN stays NaN).
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);

}  // namespace noln
