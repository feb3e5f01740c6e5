// The trainer's command line (docs/training.md). llm.c's single letters keep their meaning;
// everything new is a long flag. Every flag takes one value ("-x 300", "--shuffle 0").
// A preset (--preset) sets defaults; explicit flags override it whatever their order.
// Each hyperparameter is a TrainArgs field (with its default) and one row of the flag table
// in train/args.cpp (name, parser and range, --help line, whether a resume must match it);
// presets (train/presets.cpp) are lists of those flags.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/gelu_kind.h"
#include "host/gpt2_config.h"
#include "train/schedule.h"

namespace noln {

struct TrainArgs {
    // model and data
    std::string model;           // -e: model file, HF folder/safetensors, or dN
    int width = 0, heads = 0;    // --width --heads for dN (0: GPT-2's family default)
    int vocab = 50257;           // --vocab for dN
    int max_seq = 1024;          // --max-seq for dN
    std::string train_glob;      // -i
    std::string val_glob;        // -j
    std::string out_dir;         // -o (empty: no logs, no checkpoints)
    // batch
    int B = 4;                   // -b micro-batch (sequences per rank per forward; 0: the plan's)
    int T = 1024;                // -t
    int64_t total_batch = -1;    // -d tokens per optimizer step (-1: B*T*ranks)
    // optimizer
    float lr = 3e-4f;            // -l
    int warmup = 0;              // -u
    float final_frac = 1.0f;     // -q
    int lr_horizon = 0;          // --lr-horizon (0: = steps)
    float weight_decay = 0.0f;   // -c
    int steps = 0;               // -x
    float beta1 = 0.9f, beta2 = 0.95f, adam_eps = 1e-8f;
    float grad_clip = 1.0f;      // --grad-clip (0 = off)
    int shuffle = 1;             // --shuffle
    uint64_t seed = 42;          // --seed
    // evals and checkpoints
    int val_every = 20;          // -v (0 = never)
    int val_batches = 20;        // -m
    int ckpt_every = 0;          // -n (0 = never)
    int keep_ckpts = 0;          // -nk: keep the newest N checkpoints (0 = all)
    int major_ckpts = 0;         // -nm: every M-th step's checkpoint is never deleted (0 = none)
    int resume = 0;              // -y
    int hellaswag = 0;           // -h
    std::string hellaswag_file;  // --hellaswag
    std::string export_hf;       // --export-hf DIR
    int export_fold_ln1 = 1;     // --export-fold-ln1
    // the method
    std::string preset;          // --preset ("" = none)
    int vanilla = 0;             // --vanilla 1: keep every LN
    RemovalSchedule remove;      // from the preset, then --remove
    float sigma_momentum = 0.9f; // --sigma-momentum
    float aux_lambda = 0.0f;     // --aux-lambda
    int bos_sigma_off = 0;       // --bos-sigma-off STEP (0 = BOS divisor never on)
    int eot_sigma_off = 0;       // --eot-sigma-off STEP
    int mask_eot_targets = 0;    // --mask-eot-targets
    int sigma_momentum_seqs = 0; // --sigma-momentum-seqs: sequences per EMA update M is quoted for
    // memory (train/plan.h)
    int zero = 0;                // -z ZeRO stage (0 or 1)
    int recompute = 0;           // -r 0|1|2
    int plan = 0;                // --plan 1: print the batch and memory plan and exit
    float gpu_mem = 0.0f;        // --gpu-mem GiB (0: the device's free memory)
    int bos_off_ln1_only = 0;    // --bos-off-ln1-only 1: at --bos-sigma-off only ln1qk/ln1v drop sigma_bos
    int zero_based_steps = 0;    // --zero-based-steps 1: step values count paper (a)'s 0-based iterations
    Gelu gelu = Gelu::Tanh;      // --gelu tanh|erf

    // The schedule's clock at optimizer step `step` (1-based): the step itself, or paper (a)'s
    // iteration step-1 with --zero-based-steps 1. The LR schedule, the removal schedule and
    // the special divisors' off steps are all read at this value.
    int sched_step(int step) const { return step - zero_based_steps; }

    int horizon() const { return lr_horizon > 0 ? lr_horizon : steps; }
};

// Parses argv (argv[0] is the program). Throws noln::Error naming the flag on an unknown
// flag, a missing or malformed value, or a value out of range. Sets *help when --help
// was given (then nothing else is checked).
TrainArgs parse_train_args(int argc, const char* const* argv, bool* help = nullptr);

// The EMA momentum for the run's sequences per EMA update (B * ranks): --sigma-momentum as
// given, or rescaled to M^(B*ranks / --sigma-momentum-seqs) when that is set (paper (b)).
float effective_sigma_momentum(const TrainArgs& a, int ranks);

// True for "dN" (a fresh depth-N model) rather than a file or folder.
bool is_fresh_model(const std::string& e);

// Checks what needs the number of ranks: -d must be an exact multiple of B*T*ranks.
// Fills total_batch when it was -1. Returns the gradient accumulation steps (64-bit
// arithmetic; more than INT_MAX micro-batches, or B*T above INT_MAX, is refused).
int resolve_grad_accum(TrainArgs& a, int ranks);

// Sets a's hyperparameters to preset p's (train/presets.h), through the flag table.
struct Preset;
void apply_preset(const Preset& p, TrainArgs& a);

// The "key=value" lines a resume must match: the model shape, the number of ranks, and every
// flag the flag table marks as fixed for a run (batch, optimizer, schedule, data, method).
std::string resume_settings(const TrainArgs& a, const GPT2Config& c, int world);

// The --help text: every flag with its default.
std::string train_usage(const char* prog);

// The flags --help lists, for the docs test ("-e", "--preset", ...).
std::vector<std::string> train_flag_names();

}  // namespace noln
