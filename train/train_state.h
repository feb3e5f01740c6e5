// Checkpoints and resume (docs/training.md "Checkpoints"). Every -n steps, in -o:
//   model_%08d.bin        rank 0: the working parameters (llm.c v3 fp32, or v5 bf16 for a
//                         bf16 backend) with the LN trailer
//   state_%08d_%05d.bin   every rank: optimizer moments, the fp32 master weights of a
//                         bf16 backend (v5 model file), step, LN schedule state (frozen
//                         sigmas and the EMA), data-loader state, and the settings a
//                         resume must match
//   DONE_%08d             rank 0, last, after a barrier: the checkpoint is complete
// Each file is written to a temporary name and renamed, so a crash never leaves a
// half-written file under a real name, and -y 1 only trusts steps with a DONE marker. The
// model and state files name the same run id and step, the state holds the model file's
// checksum and each file its own, so a mixed or damaged pair is refused.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/sigma_ema.h"

namespace noln {

constexpr int TRAIN_STATE_MAGIC = 20250713;  // ours; llm.c's 20240527 differs on purpose
constexpr int TRAIN_STATE_VERSION = 3;

struct TrainState {
    int step = 0;  // optimizer steps completed
    int world = 1, rank = 0;
    std::string settings;  // "key=value\n" lines that must match on resume
    LNState ln;
    SigmaEMA ema;
    std::vector<float> m, v;           // AdamW moments, num_parameters floats each
    std::vector<float> master;         // fp32 master weights, num_parameters floats or none
    std::string loader;  // the training data loader's opaque state
    // Ties the state to its model file: the run's id (the same in the model file's LN
    // trailer) and that file's checksum. The state file's own checksum is checked on read.
    uint64_t run_id = 0;
    uint64_t model_checksum = 0;
};

std::string model_ckpt_path(const std::string& dir, int step);
std::string state_ckpt_path(const std::string& dir, int step, int rank);
std::string done_ckpt_path(const std::string& dir, int step);

void write_train_state(const std::string& path, const TrainState& s);
// Throws noln::Error naming the file on a bad magic/version, truncation, trailing bytes, a
// checksum that does not match, or a NaN/Inf in the optimizer state or master weights.
// Version 2 files (no run id, no checksums) are read with run_id and model_checksum 0.
TrainState read_train_state(const std::string& path);

// The steps with a DONE marker in dir, newest first (empty when there is none).
std::vector<int> checkpoint_steps(const std::string& dir);
// The newest of them, 0 when there is none.
int newest_checkpoint(const std::string& dir);

// The value of `key` in a settings text ("" when absent).
std::string settings_value(const std::string& settings, const std::string& key);

// Compares two settings texts; throws naming `path` and every key that differs.
void check_settings_match(const std::string& saved, const std::string& now, const std::string& path);

}  // namespace noln
