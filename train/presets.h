// Every published schedule of docs/method.md §5 as one table row each, plus `tiny` (the CPU
// demo's scaled-down schedule) and `vanilla` (paper (b) Small's numbers with LN kept).
// A preset sets defaults only: explicit flags override them whatever their order.
#pragma once
#include <string>
#include <vector>

#include "train/schedule.h"

namespace noln {

struct Preset {
    const char* name;
    const char* what;              // one line for --help and the docs
    RemovalSchedule remove;        // all-off for vanilla
    int steps;                     // -x
    int lr_horizon;                // --lr-horizon
    long tokens_per_step;          // -d
    int micro_batch;               // -b: a divisor of tokens_per_step/seq_len
    int seq_len;                   // -t
    float lr;                      // -l
    float min_lr;                  // -q = min_lr / lr
    int warmup;                    // -u
    float weight_decay;            // -c
    float beta1, beta2, adam_eps;  // --beta1 --beta2 --adam-eps
    float grad_clip;               // --grad-clip
    float aux_lambda;              // --aux-lambda
    float sigma_momentum;          // --sigma-momentum (1 = paper (a)'s fixed constants)
};

const std::vector<Preset>& presets();
// nullptr when unknown
const Preset* find_preset(const std::string& name);
// "paper-a-small|paper-b-small|..."
std::string preset_names();

}  // namespace noln
