// The batch plan and the memory plan of a run (docs/training.md "Batch and memory plan"):
// how many sequences each rank takes per forward (-b), how many micro-steps make the global
// batch (-d), and what every rank's GPU holds. Plain C++ over host/device_buffers.h (the list
// the CUDA model allocates from), so --plan 1 works without a GPU.
#pragma once
#include <cstddef>
#include <string>

#include "host/gpt2_config.h"

namespace noln {

// Memory every GPU keeps beyond the listed buffers: the CUDA context, NCCL's buffers, the
// cuBLASLt workspace, the model's small buffers and the allocator's rounding.
constexpr double PLAN_HEADROOM_GIB = 2.0;

struct PlanInput {
    GPT2Config config;
    int T = 1024;
    int ranks = 1;
    long tokens_per_step = -1;  // -d (-1: one micro-batch per rank, no accumulation)
    int B = 0;                  // -b (0: the largest that fits, capped by max_auto_B)
    int max_auto_B = 0;         // cap on an automatic -b (0: none; the CPU trainer's is 4)
    int zero = 0;               // -z: 0 every rank holds the whole optimizer state, 1 sharded
    int recompute = 0;          // -r
    bool ln1_split = true;      // some ln_1 may split during the run (train/schedule.h
                                // ln1_split_possible): the V path's buffers are counted
    int floatx_bytes = 2;       // 2 for BF16, 4 for FP32
    bool master = true;         // fp32 master weights (the BF16 build)
    double gpu_gib = 0;         // the GPU's memory in GiB (0: unknown, nothing is checked)
};

struct Plan {
    // the model state per rank, bytes
    size_t params = 0, grads = 0, m = 0, v = 0, master = 0, state = 0;
    size_t act_per_seq = 0;  // activations and scratch of one sequence (B = 1)
    size_t acts = 0;         // at the chosen B
    size_t headroom = 0, capacity = 0;  // capacity: gpu_gib in bytes (0: unknown)
    int max_B = 0;            // the largest B that fits (0: none; -1: capacity unknown)
    int B = 0;                // the micro-batch used
    long total_batch = 0;     // tokens per optimizer step really used
    int accum = 0;            // micro-steps per optimizer step
    bool fits = true;
    std::string batch_note;   // one line when the global batch differs from -d ("" otherwise)
    std::string problem;      // why it does not fit and what to change ("" when it fits)
};

// Chooses B, the global batch and the accumulation; throws noln::Error on impossible input.
Plan make_plan(const PlanInput& in);

// The batch alone: given per-rank B (or B = 0 and the largest allowed max_B), the B and the
// number of micro-steps whose global batch ranks*T*B*accum is nearest to tokens_per_step
// (ties: the larger B). Writes B, total_batch, accum and batch_note.
void plan_batch(Plan& p, long tokens_per_step, int T, int ranks, int B, int max_B);

// The plan as the lines rank 0 prints.
std::string plan_text(const PlanInput& in, const Plan& p);

}  // namespace noln
