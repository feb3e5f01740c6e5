// Evaluations the trainer runs every few steps: mean cross-entropy on the validation
// shards, and HellaSwag acc_norm on an eval file (docs/formats.md, HellaSwag eval file).
// Both are forward-only: they never touch gradients, the optimizer or the LN state, so the
// caller sets the LN state it wants evaluated before calling.
#pragma once
#include <string>

#include "host/model.h"

namespace noln {

class DataLoader;  // the validation loader (io/dataloader.h)

// Mean CE over the first max_batches batches of `val` (all of them when max_batches <= 0),
// read from the start (the loader is reset first). With several ranks, every rank reads its
// own slice and the result is averaged over ranks, so all ranks return the same value.
float eval_val_loss(Model& m, DataLoader& val, int max_batches);

struct HellaSwagResult { int n = 0, correct = 0; float acc_norm = 0; };

// HellaSwag-style multiple choice. For each example the 4 completions are scored as 4 rows
// (context + completion, padded to the file's longest example) and the completion with the
// lowest mean cross-entropy over its own tokens is the prediction. B: rows per forward
// (at least 4; floor(B/4) examples per forward); T: the longest row the caller's backend
// takes (<= 0: the model's max_seq_len). Throws noln::Error when the file's longest
// example is longer than T or the model's max_seq_len. Examples are split over ranks and
// the counts summed, so every rank returns the same result.
HellaSwagResult eval_hellaswag(Model& m, const std::string& eval_path, int B, int T);

}  // namespace noln
