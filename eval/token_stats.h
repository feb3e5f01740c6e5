// Per-token loss statistics for the evaluation table (docs/reproduce.md, scripts/eval_table.py):
// besides the mean CE, the median, 95th and 99.9th percentile and the maximum of the per-token
// cross-entropies, so that rare blow-ups (paper (b)'s LN-free XL scores a mean of 130 on the
// unfiltered Pile) show at a glance.
#pragma once
#include <string>
#include <vector>

#include "host/model.h"

namespace noln {

class DataLoader;

struct LossStats {
    long n = 0;          // tokens counted
    double mean = 0;     // mean per-token CE (what eval_val_loss gives)
    double median = 0, p95 = 0, p999 = 0, max = 0;
};

// The q-quantile (0 <= q <= 1) of `sorted` (ascending, non-empty) by linear interpolation
// between closest ranks: position (n-1)*q, as numpy.percentile's default. Throws if empty.
double quantile_sorted(const std::vector<float>& sorted, double q);

// Sorts `losses` in place and fills the statistics; throws on an empty or non-finite input
// (naming `where`).
LossStats loss_stats(std::vector<float>& losses, const std::string& where);

// Every target's CE over the first max_batches batches of `val` (all when <= 0), read from the
// start, one rank (the tool runs on one process). Masked targets are left out.
std::vector<float> eval_token_losses(Model& m, DataLoader& val, int max_batches);

}  // namespace noln
