// Every preset against docs/method.md §5, written out again here by hand, and the exact removal
// steps the schedule produces for each model depth.
#include <catch2/catch.hpp>

#include <cmath>

#include "train/presets.h"
#include "train/schedule.h"

using namespace noln;

namespace {
struct Row {  // docs/method.md §5, one row per paper model
    const char* name;
    int depth;
    int ln2s, ln2g, qks, qkg, vs, vg, lnf;
    int steps, horizon;
    long tokens;
    double lr, min_lr;
    int warmup;
    double wd, lambda, momentum, beta2;
};
const Row TABLE[] = {
    {"paper-a-small", 12, 200, 20, 440, 20, 680, 30, 1040, 1200, 2000, 491520, 6e-4, 6e-5, 100, 0.1, 0, 1.0, 0.95},
    {"paper-b-small", 12, 20, 2, 44, 2, 68, 3, 104, 300, 300, 524288, 6e-4, 3e-4, 25, 0.01, 0.1, 0.9, 0.999},
    {"paper-b-medium", 24, 20, 2, 68, 2, 116, 3, 188, 500, 500, 518144, 6e-4, 3e-4, 10, 0.01, 0.1, 0.9, 0.999},
    {"paper-b-large", 36, 30, 4, 174, 4, 318, 6, 534, 600, 1200, 516096, 3e-4, 4e-5, 15, 0.01, 0.03, 0.91193145, 0.999},
    {"paper-b-xl", 48, 50, 4, 242, 4, 434, 6, 722, 800, 1200, 516096, 1e-4, 2e-5, 20, 0.01, 0.01, 0.94245671, 0.999},
};
}  // namespace

TEST_CASE("paper presets carry every number of docs/method.md section 5", "[presets]") {
    for (const Row& r : TABLE) {
        INFO(r.name);
        const Preset* p = find_preset(r.name);
        REQUIRE(p != nullptr);
        CHECK(p->remove.at(PATH_LN2).start == r.ln2s);
        CHECK(p->remove.at(PATH_LN2).gap == r.ln2g);
        CHECK(p->remove.at(PATH_LN1QK).start == r.qks);
        CHECK(p->remove.at(PATH_LN1QK).gap == r.qkg);
        CHECK(p->remove.at(PATH_LN1V).start == r.vs);
        CHECK(p->remove.at(PATH_LN1V).gap == r.vg);
        CHECK(p->remove.at(PATH_LNF).start == r.lnf);
        CHECK(p->steps == r.steps);
        CHECK(p->lr_horizon == r.horizon);
        CHECK(p->tokens_per_step == r.tokens);
        CHECK(p->lr == Approx(r.lr).epsilon(1e-6));
        CHECK(p->min_lr == Approx(r.min_lr).epsilon(1e-6));
        CHECK(p->warmup == r.warmup);
        CHECK(p->weight_decay == Approx(r.wd).epsilon(1e-6));
        CHECK(p->aux_lambda == Approx(r.lambda).margin(1e-9));
        CHECK(p->sigma_momentum == Approx(r.momentum).epsilon(1e-6));
        CHECK(p->beta1 == Approx(0.9));
        CHECK(p->beta2 == Approx(r.beta2));
        CHECK(p->adam_eps == Approx(1e-8));
        CHECK(p->grad_clip == 1.0f);
        CHECK(p->seq_len == 1024);
        // the micro-batch must divide the sequences per step
        CHECK((r.tokens / 1024) % p->micro_batch == 0);
    }
}

TEST_CASE("paper-b-small removal steps, layer by layer", "[presets][schedule]") {
    const RemovalSchedule& s = find_preset("paper-b-small")->remove;
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
        const RemovalSchedule& s = find_preset(r.name)->remove;
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
    const RemovalSchedule& a = find_preset("paper-a-small")->remove;
    CHECK(a.step_for(PATH_LN2, 11) == 420);
    CHECK(a.step_for(PATH_LN1QK, 11) == 660);
    CHECK(a.step_for(PATH_LN1V, 11) == 1010);
    const RemovalSchedule& m = find_preset("paper-b-medium")->remove;
    CHECK(m.step_for(PATH_LN2, 23) == 66);
    CHECK(m.step_for(PATH_LN1QK, 23) == 114);
    CHECK(m.step_for(PATH_LN1V, 23) == 185);
    const RemovalSchedule& lg = find_preset("paper-b-large")->remove;
    CHECK(lg.step_for(PATH_LN2, 35) == 170);
    CHECK(lg.step_for(PATH_LN1QK, 35) == 314);
    CHECK(lg.step_for(PATH_LN1V, 35) == 528);
    const RemovalSchedule& xl = find_preset("paper-b-xl")->remove;
    CHECK(xl.step_for(PATH_LN2, 47) == 238);
    CHECK(xl.step_for(PATH_LN1QK, 47) == 430);
    CHECK(xl.step_for(PATH_LN1V, 47) == 716);
    CHECK(xl.last_step(48) == 722);
}

TEST_CASE("vanilla removes nothing; tiny fits a d4 model inside its steps", "[presets]") {
    const Preset* v = find_preset("vanilla");
    REQUIRE(v);
    CHECK_FALSE(v->remove.any());
    CHECK(v->steps == 300);
    const Preset* t = find_preset("tiny");
    REQUIRE(t);
    CHECK(t->remove.last_step(4) < t->steps);
    CHECK(t->tokens_per_step % ((long)t->micro_batch * t->seq_len) == 0);
    CHECK(find_preset("paper-b-tiny") == nullptr);
}
