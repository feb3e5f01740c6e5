// Pieces the loop's resume tests share: scratch folders, bitwise comparisons, and the
// exact-resume experiment itself (a full run, then the same run stopped early and resumed
// on a fresh model from its checkpoint).
#pragma once
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "train/train_loop.h"
#include "tests/train/fake_model.h"

namespace noln_test {

// The small run the loop tests share against the fake backend: B=2, T=4, 2 micro-batches
// per step, 8 steps, LR 1e-2 with 2 warmup steps and a cosine down to 0.1 of it, no evals.
inline TrainArgs small_run_args() {
    TrainArgs a;
    a.model = "fake";
    a.train_glob = "fake";
    a.B = 2;
    a.T = 4;
    a.total_batch = 16;
    a.steps = 8;
    a.lr = 1e-2f;
    a.warmup = 2;
    a.final_frac = 0.1f;
    a.val_every = 0;
    return a;
}

// An empty folder build/tests/train/tmp_TAG_PID (removed first if a run left one).
inline std::string tmpdir(const std::string& tag) {
    std::string d = "build/tests/train/tmp_" + tag + "_" + std::to_string((int)getpid());
    std::string cmd = "rm -rf '" + d + "'";
    REQUIRE(system(cmd.c_str()) == 0);
    return d;
}

inline bool same_bits(const std::vector<float>& x, const std::vector<float>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * 4) == 0;
}

// `full` runs `a` (a.steps steps, checkpointing into a.out_dir) from a fresh model;
// `resumed` is a fresh model that finishes the same run from the checkpoint at step `stop`
// of a second run into split_dir. split_losses joins the two halves' per-step losses.
template <class M>
struct ResumeRuns {
    M full, resumed;
    TrainResult full_run, first, second;
    std::vector<float> split_losses;
};

template <class M>
void run_full_and_resumed(ResumeRuns<M>& r, TrainArgs a, const std::string& split_dir,
                          int stop) {
    FakeSource sfull(2, 4);
    r.full_run = run_training(r.full, a, sfull, {});
    TrainArgs b = a;
    b.out_dir = split_dir;
    b.steps = stop;
    b.ckpt_every = stop;
    M part;
    FakeSource spart(2, 4);
    r.first = run_training(part, b, spart, {});
    FakeSource sres(2, 4);
    b.steps = a.steps;
    b.resume = 1;
    r.second = run_training(r.resumed, b, sres, {});
    r.split_losses = r.first.losses;
    r.split_losses.insert(r.split_losses.end(), r.second.losses.begin(), r.second.losses.end());
}

// Every step's loss equal to the last bit.
inline void check_losses_bitwise(const std::vector<float>& got, const std::vector<float>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); i++) {
        INFO("step " << i + 1);
        CHECK(std::memcmp(&got[i], &want[i], 4) == 0);
    }
}

}  // namespace noln_test
