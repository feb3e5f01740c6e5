// What a run writes for people and for plots (docs/training.md "Logs"). Only rank 0 logs.
//   console     one line per step, one line per frozen path, eval results
//   main.log    llm.c's lines: "s:STEP trl:LOSS", "s:STEP tel:LOSS", "s:STEP hsa:ACC"
//   main.jsonl  one JSON object per step (and per eval), with every path's state and sigma
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "host/ln_paths.h"
#include "train/schedule.h"

namespace noln {

struct StepRecord {
    int step = 0, steps = 0;
    float ce = 0, aux = 0, lr = 0, grad_norm = 0;
    double ms = 0, tokens_per_s = 0;
};

class TrainLogger {
public:
    // dir empty or enabled false: console only (or nothing at all when !enabled).
    // resume_step > 0: a resume from that step's checkpoint: the files keep what the earlier
    // run logged up to that step and lose the rest (truncate_log), then grow from there;
    // 0: they start empty. A failed write throws noln::Error naming the file.
    TrainLogger(const std::string& dir, bool enabled, int resume_step);
    ~TrainLogger();
    TrainLogger(const TrainLogger&) = delete;
    TrainLogger& operator=(const TrainLogger&) = delete;

    void step(const StepRecord& r, const LNState& ln);
    void froze(int step, const FreezeEvent& e, bool specials);
    void val(int step, float loss);
    void hellaswag(int step, int correct, int n, float acc);
    void message(const std::string& line);  // console only

private:
    void write(FILE* f, const std::string& path, const std::string& text);
    bool enabled_;
    FILE* log_ = nullptr;
    FILE* jsonl_ = nullptr;
    std::string log_path_, jsonl_path_;
};

// Cuts a log (main.log: "s:STEP ..." lines; main.jsonl: {"step":STEP,...} lines) right
// before its first line of a step after `step`, or an incomplete last line; one truncate(2).
void truncate_log(const std::string& path, int step);

// The throughput lines for a backend that names its device (docs/gpu.md "train_gpt2_noln and
// MFU"): the device line once, then per step the achieved FLOP/s of `flops` done in
// `seconds` on this rank and, when peak_flops > 0 (FLOP/s, dense, in `precision`), the MFU
// = achieved / peak.
std::string device_line(const std::string& device, double peak_flops, const char* precision);
std::string throughput_line(int step, double flops, double seconds, const std::string& device,
                            double peak_flops, const char* precision);

// The JSON object for one step (no newline), for main.jsonl and tests.
std::string step_json(const StepRecord& r, const LNState& ln);

}  // namespace noln
