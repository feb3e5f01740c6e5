// Every preset against docs/method.md §5, written out again here by hand, and the exact removal
// steps the schedule produces for each model depth.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "train/args.h"
#include "train/presets.h"
#include "train/schedule.h"

using namespace noln;

namespace {
// The hyperparameters a preset sets, over the defaults.
TrainArgs preset_args(const char* name) {
    const Preset* p = find_preset(name);
    REQUIRE(p != nullptr);
    TrainArgs a;
    apply_preset(*p, a);
    return a;
}

struct Row {  // docs/method.md §5, one row per paper model
    const char* name;
    int depth;
    int ln2s, ln2g, qks, qkg, vs, vg, lnf;
    int steps, horizon;
    long tokens;
    float lr, min_lr;
    int warmup, micro_batch;  // micro_batch 0: the trainer's plan picks it (train/plan.h)
    float wd, lambda, momentum, beta2;
};
// Numbers as the float literals the trainer used before presets became flag lists, so the
// comparisons below are exact (-q is min_lr / lr in double, rounded to float once).
const Row TABLE[] = {
    {"paper-a-small", 12, 200, 20, 440, 20, 680, 30, 1040, 1200, 2000, 491520, 6e-4f, 6e-5f, 100, 0, 0.1f, 0.0f, 1.0f, 0.95f},
    {"paper-b-small", 12, 20, 2, 44, 2, 68, 3, 104, 300, 300, 524288, 6e-4f, 3e-4f, 25, 0, 0.01f, 0.1f, 0.9f, 0.999f},
    {"paper-b-medium", 24, 20, 2, 68, 2, 116, 3, 188, 500, 500, 518144, 6e-4f, 3e-4f, 10, 0, 0.01f, 0.1f, 0.9f, 0.999f},
    {"paper-b-large", 36, 30, 4, 174, 4, 318, 6, 534, 600, 1200, 516096, 3e-4f, 4e-5f, 15, 0, 0.01f, 0.03f,
     (float)std::pow(0.9, 28.0 / 32.0), 0.999f},
    {"paper-b-xl", 48, 50, 4, 242, 4, 434, 6, 722, 800, 1200, 516096, 1e-4f, 2e-5f, 20, 0, 0.01f, 0.01f,
     (float)std::pow(0.9, 18.0 / 32.0), 0.999f},
};
}  // namespace

TEST_CASE("paper presets carry every number of docs/method.md section 5", "[presets]") {
    for (const Row& r : TABLE) {
        INFO(r.name);
        const TrainArgs p = preset_args(r.name);
        CHECK(p.remove.at(PATH_LN2).start == r.ln2s);
        CHECK(p.remove.at(PATH_LN2).gap == r.ln2g);
        CHECK(p.remove.at(PATH_LN1QK).start == r.qks);
        CHECK(p.remove.at(PATH_LN1QK).gap == r.qkg);
        CHECK(p.remove.at(PATH_LN1V).start == r.vs);
        CHECK(p.remove.at(PATH_LN1V).gap == r.vg);
        CHECK(p.remove.at(PATH_LNF).start == r.lnf);
        CHECK(p.steps == r.steps);
        CHECK(p.lr_horizon == r.horizon);
        CHECK(p.total_batch == r.tokens);
        CHECK(p.lr == r.lr);
        CHECK(p.final_frac == (float)((double)r.min_lr / (double)r.lr));
        CHECK(p.warmup == r.warmup);
        CHECK(p.B == r.micro_batch);
        CHECK(p.weight_decay == r.wd);
        CHECK(p.aux_lambda == r.lambda);
        CHECK(p.sigma_momentum == r.momentum);
        CHECK(p.beta1 == 0.9f);
        CHECK(p.beta2 == r.beta2);
        CHECK(p.adam_eps == 1e-8f);
        CHECK(p.grad_clip == 1.0f);
        CHECK(p.T == 1024);
    }
}

TEST_CASE("paper (b)'s momentum is 0.9 per 32 sequences per EMA update, whatever the batch", "[presets]") {
    // the paper's Large saw 28 sequences per update with 0.9^(28/32), XL 18 with 0.9^(18/32)
    const struct { const char* name; int seqs; } R[] = {
        {"paper-a-small", 0}, {"paper-b-small", 32}, {"paper-b-medium", 32}, {"paper-b-large", 28}, {"paper-b-xl", 18}};
    for (const auto& r : R) {
        INFO(r.name);
        TrainArgs p = preset_args(r.name);
        CHECK(p.sigma_momentum_seqs == r.seqs);
        if (!r.seqs) continue;
        // 4 sequences on 8 ranks = 32 per update: 0.9; 2 on 8 = 16: 0.9^(1/2); 1 on 1: 0.9^(1/32)
        p.B = 4;
        CHECK(effective_sigma_momentum(p, 8) == Approx(0.9).epsilon(1e-6));
        p.B = 2;
        CHECK(effective_sigma_momentum(p, 8) == Approx(0.9486832980505138).epsilon(1e-6));
        p.B = 1;
        CHECK(effective_sigma_momentum(p, 1) == Approx(0.9967128).epsilon(1e-6));
    }
    TrainArgs t = preset_args("tiny");  // the demo keeps its momentum as given
    CHECK(effective_sigma_momentum(t, 4) == t.sigma_momentum);
}

TEST_CASE("paper-b-small removal steps, layer by layer", "[presets][schedule]") {
    const RemovalSchedule s = preset_args("paper-b-small").remove;
    const int ln2[12] = {20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42};
    const int qk[12] = {44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 64, 66};
    const int v[12] = {68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101};
    for (int l = 0; l < 12; l++) {
        CHECK(s.step_for(PATH_LN2, l) == ln2[l]);
        CHECK(s.step_for(PATH_LN1QK, l) == qk[l]);
        CHECK(s.step_for(PATH_LN1V, l) == v[l]);
    }
    CHECK(s.step_for(PATH_LNF, 0) == 104);
    CHECK(s.last_step(12) == 104);
}

TEST_CASE("every paper preset removes its groups in order, one path per step, before its end",
          "[presets][schedule]") {
    for (const Row& r : TABLE) {
        INFO(r.name);
        const RemovalSchedule s = preset_args(r.name).remove;
        LNState ln(r.depth);
        SigmaEMA ema(r.depth, 0.9f);
        SigmaObs obs(r.depth);
        for (int l = 0; l < r.depth; l++) obs.at(SITE_LN1, l).sigma = obs.at(SITE_LN2, l).sigma = 1;
        obs.at(SITE_LNF).sigma = 1;
        ema.update(obs, ln);
        int frozen_total = 0;
        for (int step = 1; step <= r.steps; step++) {
            auto ev = apply_schedule(s, step, ln, ema);
            CHECK(ev.size() <= 1);
            frozen_total += (int)ev.size();
            // the groups follow each other: ln2 finishes before ln1qk starts, etc.
            if (ln.frozen_count(PATH_LN1QK) > 0) CHECK(ln.frozen_count(PATH_LN2) == r.depth);
            if (ln.frozen_count(PATH_LN1V) > 0) CHECK(ln.frozen_count(PATH_LN1QK) == r.depth);
            if (ln.path(PATH_LNF).frozen) CHECK(ln.frozen_count(PATH_LN1V) == r.depth);
            if (step == r.ln2s + (r.depth - 1) * r.ln2g) CHECK(ln.frozen_count(PATH_LN2) == r.depth);
            if (step == r.ln2s + (r.depth - 1) * r.ln2g - 1) CHECK(ln.frozen_count(PATH_LN2) == r.depth - 1);
            if (step == r.vs + (r.depth - 1) * r.vg) CHECK(ln.frozen_count(PATH_LN1V) == r.depth);
            if (step == r.lnf - 1) CHECK_FALSE(ln.path(PATH_LNF).frozen);
            if (step == r.lnf) CHECK(ln.path(PATH_LNF).frozen);
        }
        CHECK(frozen_total == 3 * r.depth + 1);
        CHECK(ln.all_frozen());
    }
}

TEST_CASE("paper-a-small, medium, large and xl: spot values", "[presets][schedule]") {
    const RemovalSchedule a = preset_args("paper-a-small").remove;
    CHECK(a.step_for(PATH_LN2, 11) == 420);
    CHECK(a.step_for(PATH_LN1QK, 11) == 660);
    CHECK(a.step_for(PATH_LN1V, 11) == 1010);
    const RemovalSchedule m = preset_args("paper-b-medium").remove;
    CHECK(m.step_for(PATH_LN2, 23) == 66);
    CHECK(m.step_for(PATH_LN1QK, 23) == 114);
    CHECK(m.step_for(PATH_LN1V, 23) == 185);
    const RemovalSchedule lg = preset_args("paper-b-large").remove;
    CHECK(lg.step_for(PATH_LN2, 35) == 170);
    CHECK(lg.step_for(PATH_LN1QK, 35) == 314);
    CHECK(lg.step_for(PATH_LN1V, 35) == 528);
    const RemovalSchedule xl = preset_args("paper-b-xl").remove;
    CHECK(xl.step_for(PATH_LN2, 47) == 238);
    CHECK(xl.step_for(PATH_LN1QK, 47) == 430);
    CHECK(xl.step_for(PATH_LN1V, 47) == 716);
    CHECK(xl.last_step(48) == 722);
}

TEST_CASE("every preset sets the same flags, each once, all known", "[presets]") {
    std::set<std::string> first;
    for (const auto& [flag, value] : presets().front().flags) first.insert(flag);
    CHECK(first.size() == presets().front().flags.size());
    for (const Preset& p : presets()) {
        INFO(p.name);
        std::set<std::string> mine;
        for (const auto& [flag, value] : p.flags) mine.insert(flag);
        CHECK(mine.size() == p.flags.size());
        CHECK(mine == first);
        TrainArgs a;
        CHECK_NOTHROW(apply_preset(p, a));
    }
    for (const char* f : {"--remove", "-x", "--lr-horizon", "-d", "-b", "-t", "-l", "-q", "-u", "-c", "--beta1",
                          "--beta2", "--adam-eps", "--grad-clip", "--aux-lambda", "--sigma-momentum"})
        CHECK(first.count(f) == 1);
}

TEST_CASE("vanilla removes nothing; tiny fits a d4 model inside its steps", "[presets]") {
    const TrainArgs v = preset_args("vanilla");
    CHECK_FALSE(v.remove.any());
    CHECK(v.steps == 300);
    const TrainArgs t = preset_args("tiny");
    CHECK(t.remove.last_step(4) < t.steps);
    CHECK(t.total_batch % ((long)t.B * t.T) == 0);
    CHECK(find_preset("paper-b-tiny") == nullptr);
}
