// The one training loop (docs/training.md): removal schedule, sigma EMA, LR schedule,
// gradient accumulation over micro-batches and ranks, clipping, AdamW, logs, evals,
// checkpoints and resume. It talks to a backend only through noln::Model, so the CPU and
// the CUDA trainers share it unchanged.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "train/args.h"
#include "host/ln_paths.h"
#include "host/model.h"

namespace noln {

// Where training batches come from: this rank's B*T inputs and targets per call, and an
// opaque state so a resumed run continues exactly where the checkpoint left off.
class TokenSource {
public:
    virtual ~TokenSource() = default;
    virtual void next(int* inputs, int* targets) = 0;
    virtual std::string save_state() const = 0;
    virtual void load_state(const std::string& s) = 0;
};

// What the loop calls out to; an empty function is skipped.
struct TrainHooks {
    std::function<float()> val_loss;                             // mean val CE
    std::function<void(int& correct, int& n, float& acc)> hellaswag;
    std::function<void(const LNState& ln, const float* params)> at_end;  // e.g. HF export
    std::vector<std::string> notes;  // lines the loop logs at the start (e.g. the batch plan's)
};

struct TrainResult {
    int first_step = 1, last_step = 0;
    std::vector<float> losses;  // CE of steps first_step..last_step
    LNState ln;                 // the state the last step trained with
};

// Runs steps 1..a.steps (from the newest checkpoint's step+1 with -y 1). `initial` is the
// LN state the model file carried (nullptr: all REAL). Throws noln::Error on bad settings,
// on a resume that does not match, and on a NaN/Inf loss or gradient norm (naming the step;
// the last checkpoint stays intact).
TrainResult run_training(Model& m, TrainArgs& a, TokenSource& train, const TrainHooks& hooks,
                         const LNState* initial = nullptr);

// The whole main() of a trainer binary, whatever the backend: MPI, the flags (--help),
// the starting model (-e; a fresh `dN` initialised from --seed), make_model to build the
// backend's model for that config, the training and validation DataLoaders (-i, -j), the
// val / HellaSwag evals, run_training, and the HF export at the end. A noln::Error is
// printed as "PROG (rank R): message" and gives exit status 1.
// dev tells the batch and memory plan (train/plan.h) about the backend: its floatX size,
// whether it keeps fp32 masters, and the GPU memory free to this rank (empty: no GPU, the
// CPU; -b 0 then means at most 4 and no plan is printed unless --plan 1).
// make_model gets the ZeRO stage (-z) and the recompute level (-r); a backend refuses what
// it does not build.
using ModelFactory = std::function<std::unique_ptr<Model>(const GPT2Config&, int zero, int recompute)>;
struct DeviceMemory {
    int floatx_bytes = 4;
    bool master = false;
    std::function<double()> free_gib;
};
int trainer_main(int argc, char** argv, const char* prog, const ModelFactory& make_model,
                 const DeviceMemory& dev = {});

}  // namespace noln
