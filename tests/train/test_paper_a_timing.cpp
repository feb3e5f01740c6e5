// The paper-a-small preset against paper (a)'s code as it ran, written out here by hand from
// how that code (a nanoGPT fork) counts: iterations from 0, the learning rate of iteration
// `it` is 6e-4 * it / 100 during warmup (so the first update runs at LR 0), then a cosine
// from 6e-4 to 6e-5 reaching its end at iteration 2000; a path scheduled at iteration n is
// frozen from the (n+1)-th update on; the EOT divisor is used for iterations < 1060 and the
// BOS one for iterations < 1160 on the ln_1 paths, to the end on ln_2 and ln_f. Our step k
// (1-based) is paper (a)'s iteration k-1. Run on the fake backend (2 layers) for all 1200
// steps, one micro-batch each.
#include <catch2/catch.hpp>

#include <cmath>

#include "train/args.h"
#include "train/presets.h"
#include "tests/train/fake_model.h"

using namespace noln;
using namespace noln_test;

namespace {
// nanoGPT's get_lr as paper (a)'s fork has it (warmup 100, decay to 2000, 6e-4 -> 6e-5).
double paper_a_lr(int it) {
    const double lr = 6e-4, min_lr = 6e-5;
    if (it < 100) return lr * it / 100;
    if (it > 2000) return min_lr;
    const double ratio = (double)(it - 100) / (2000 - 100);
    return min_lr + 0.5 * (1.0 + std::cos(M_PI * ratio)) * (lr - min_lr);
}

// paper-a-small on the fake backend: one micro-batch of 2x4 tokens per step, no validation
TrainArgs paper_a_on_fake() {
    TrainArgs a;
    apply_preset(*find_preset("paper-a-small"), a);
    a.model = a.train_glob = "fake";
    a.B = 2;
    a.T = 4;
    a.total_batch = 8;
    a.val_every = 0;
    return a;
}
}  // namespace

TEST_CASE("paper-a-small runs paper (a)'s timing: 0-based iterations, LR 0 first, removals one update later",
          "[presets][paper-a]") {
    TrainArgs a = paper_a_on_fake();
    CHECK(a.gelu == Gelu::Erf);
    FakeModel m;
    FakeSource src(2, 4);
    run_training(m, a, src, {});
    CHECK(m.gelu == Gelu::Erf);
    REQUIRE(m.forwards == 1200);
    REQUIRE(m.lrs.size() == 1200);

    // the learning rate, update by update (lrs[k-1] is step k, iteration k-1)
    CHECK(m.lrs[0] == 0.0f);
    CHECK(m.lrs[1] == Approx(6e-6).epsilon(1e-6));
    CHECK(m.lrs[99] == Approx(5.94e-4).epsilon(1e-6));  // iteration 99, still warming up
    CHECK(m.lrs[100] == Approx(6e-4).epsilon(1e-6));    // iteration 100: the cosine's top
    for (int k = 1; k <= 1200; k++) {
        INFO("step " << k);
        CHECK(m.lrs[k - 1] == Approx(paper_a_lr(k - 1)).epsilon(1e-6).margin(1e-12));
    }

    // removals: ln2 at iterations 200, 220; ln1qk 440, 460; ln1v 680, 710; lnf 1040
    auto frozen_at_step = [&](int step, PathKind k, int l) { return m.ln_per_forward[step - 1].path(k, l).frozen; };
    const struct { PathKind k; int l, it; } removals[] = {{PATH_LN2, 0, 200},   {PATH_LN2, 1, 220},
                                                          {PATH_LN1QK, 0, 440}, {PATH_LN1QK, 1, 460},
                                                          {PATH_LN1V, 0, 680},  {PATH_LN1V, 1, 710},
                                                          {PATH_LNF, 0, 1040}};
    for (const auto& r : removals) {
        INFO(PATH_KINDS[r.k].name << "[" << r.l << "] at iteration " << r.it);
        CHECK_FALSE(frozen_at_step(r.it, r.k, r.l));  // step n = iteration n-1: still REAL
        CHECK(frozen_at_step(r.it + 1, r.k, r.l));    // the (n+1)-th update: FROZEN
    }

    // special divisors: EOT for iterations < 1060, i.e. steps <= 1060
    CHECK(m.ln_per_forward[1060 - 1].eot_special);
    CHECK_FALSE(m.ln_per_forward[1061 - 1].eot_special);
    // BOS: on to the end; from iteration 1160 (step 1161) the ln_1 paths divide position 0
    // by their sigma, while ln2 and lnf keep their own sigma_bos (the fake observes
    // sigma_bos = sigma / 2)
    for (int step : {1160, 1161, 1200}) {
        INFO("step " << step);
        const LNState& s = m.ln_per_forward[step - 1];
        CHECK(s.bos_special);
        const bool ln1_off = step >= 1161;
        for (int l = 0; l < 2; l++) {
            CHECK((s.path(PATH_LN1QK, l).sigma_bos == s.path(PATH_LN1QK, l).sigma) == ln1_off);
            CHECK((s.path(PATH_LN1V, l).sigma_bos == s.path(PATH_LN1V, l).sigma) == ln1_off);
            CHECK(s.path(PATH_LN2, l).sigma_bos == Approx(s.path(PATH_LN2, l).sigma * 0.5f));
        }
        CHECK(s.path(PATH_LNF).sigma_bos == Approx(s.path(PATH_LNF).sigma * 0.5f));
    }
}

TEST_CASE("--zero-based-steps 0 keeps our 1-based timing; --bos-off-ln1-only 0 switches BOS off everywhere",
          "[presets][paper-a]") {
    TrainArgs a = paper_a_on_fake();
    a.steps = 1170;
    a.zero_based_steps = 0;
    a.bos_off_ln1_only = 0;
    FakeModel m;
    FakeSource src(2, 4);
    run_training(m, a, src, {});
    CHECK(m.lrs[0] == Approx(6e-6).epsilon(1e-6));  // step 1 = 1/100 of warmup
    CHECK(m.lrs[99] == Approx(6e-4).epsilon(1e-6));
    CHECK_FALSE(m.ln_per_forward[199 - 1].path(PATH_LN2, 0).frozen);
    CHECK(m.ln_per_forward[200 - 1].path(PATH_LN2, 0).frozen);
    CHECK(m.ln_per_forward[1159 - 1].bos_special);
    CHECK_FALSE(m.ln_per_forward[1160 - 1].bos_special);
}

TEST_CASE("--gelu and the paper (a) flags parse, and a resume must match them", "[args][paper-a]") {
    const char* argv[] = {"t", "-e", "d2", "-i", "x", "-x", "5", "--gelu", "erf", "--zero-based-steps", "1",
                          "--bos-off-ln1-only", "1"};
    TrainArgs a = parse_train_args(13, argv);
    CHECK(a.gelu == Gelu::Erf);
    CHECK(a.zero_based_steps == 1);
    CHECK(a.bos_off_ln1_only == 1);
    CHECK(a.sched_step(1) == 0);
    const std::string s = resume_settings(a, fake_config(), 1);
    CHECK(s.find("--gelu=erf\n") != std::string::npos);
    CHECK(s.find("--zero-based-steps=1\n") != std::string::npos);
    // at their defaults they write nothing, so checkpoints from before these flags resume
    const char* plain[] = {"t", "-e", "d2", "-i", "x", "-x", "5"};
    const std::string s0 = resume_settings(parse_train_args(7, plain), fake_config(), 1);
    CHECK(s0.find("--gelu") == std::string::npos);
    CHECK(s0.find("--zero-based-steps") == std::string::npos);
    CHECK(s0.find("--bos-off-ln1-only") == std::string::npos);
    const char* bad[] = {"t", "-e", "d2", "-i", "x", "-x", "5", "--gelu", "relu"};
    CHECK_THROWS_WITH(parse_train_args(9, bad), Catch::Contains("--gelu") && Catch::Contains("tanh or erf"));
}
