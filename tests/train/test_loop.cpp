// The loop against a fake backend (fake_model.h): frozen sigmas at the right steps with
// the EMA's values, calibration at step 1, LR and clipping handed to AdamW, loss averaging
// over micro-batches, resume exactness, NaN stop, and resume refusing other settings.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "host/error.h"
#include "io/file_io.h"
#include "train/logger.h"
#include "train/train_state.h"
#include "tests/train/fake_model.h"
#include "tests/train/resume_util.h"

using namespace noln;
using namespace noln_test;

static TrainArgs base_args() {
    TrainArgs a = small_run_args();
    a.sigma_momentum = 0.5f;
    return a;
}

static SigmaObs scripted(int fwd) {
    // forward i observes 2^(i+1) at every site: 2, 4, 8, 16, ...
    SigmaObs o(2);
    float x = (float)(2 << fwd);
    for (int l = 0; l < 2; l++) o.at(SITE_LN1, l).sigma = o.at(SITE_LN2, l).sigma = o.at(SITE_LN1, l).sigma_bos = o.at(SITE_LN2, l).sigma_bos = x;
    o.at(SITE_LNF).sigma = o.at(SITE_LNF).sigma_bos = x;
    return o;
}

TEST_CASE("a path removed at step k is frozen for step k's forwards with the EMA after step k-1",
          "[loop][sigma]") {
    FakeModel m;
    m.script = scripted;
    FakeSource src(2, 4);
    TrainArgs a = base_args();
    a.remove.at(PATH_LN2) = {3, 2};    // layer 0 at 3, layer 1 at 5
    a.remove.at(PATH_LN1QK) = {3, 0};  // both at 3
    a.remove.at(PATH_LN1V) = {4, 0};
    a.remove.at(PATH_LNF).start = 2;
    TrainResult r = run_training(m, a, src, {});
    REQUIRE(m.forwards == 16);
    // EMA (m=0.5) after forwards with 2,4 | 8,16 | 32,64 | 128,256:
    //   after step 1: 2 -> 3; step 2: 5.5 -> 10.75; step 3: 21.375 -> 42.6875
    for (int f : {0, 1, 2, 3}) CHECK_FALSE(m.ln_per_forward[f].path(PATH_LN2, 0).frozen);
    CHECK(m.ln_per_forward[2].path(PATH_LNF).frozen);
    CHECK(m.ln_per_forward[2].path(PATH_LNF).sigma == 3.0f);
    CHECK(m.ln_per_forward[4].path(PATH_LN2, 0).frozen);
    CHECK(m.ln_per_forward[4].path(PATH_LN2, 0).sigma == 10.75f);
    CHECK(m.ln_per_forward[4].path(PATH_LN1QK, 1).sigma == 10.75f);
    CHECK_FALSE(m.ln_per_forward[4].path(PATH_LN1V, 1).frozen);
    CHECK_FALSE(m.ln_per_forward[4].path(PATH_LN2, 1).frozen);
    // ln1 kept tracking through step 3 because ln1v was still REAL
    CHECK(m.ln_per_forward[6].path(PATH_LN1V, 0).sigma == 42.6875f);
    // ln2[1] froze at step 5 from its own EMA after step 4: 42.6875 -> (..+128)/2 -> (..+256)/2
    CHECK(m.ln_per_forward[8].path(PATH_LN2, 1).sigma == Approx((((42.6875 + 128) / 2) + 256) / 2));
    CHECK(r.ln.all_frozen());
    CHECK(r.losses.size() == 8);
}

TEST_CASE("a path removed at step 1 is calibrated on the first batch", "[loop][sigma]") {
    FakeModel m;
    m.script = scripted;
    FakeSource src(2, 4);
    TrainArgs a = base_args();
    a.steps = 2;
    a.remove.at(PATH_LN2) = {1, 1};
    run_training(m, a, src, {});
    // forward 0 is the calibration (no targets), observing 2; the training forwards follow
    REQUIRE(m.forwards == 5);
    CHECK_FALSE(m.forward_had_targets[0]);
    CHECK(m.forward_had_targets[1]);
    CHECK(m.ln_per_forward[1].path(PATH_LN2, 0).frozen);
    CHECK(m.ln_per_forward[1].path(PATH_LN2, 0).sigma == 2.0f);
    // layer 1 froze at step 2 with its EMA over the step-1 forwards (obs 4 and 8; the
    // calibration only initialised the due path): 4 -> 6
    CHECK(m.ln_per_forward[3].path(PATH_LN2, 1).sigma == 6.0f);
    CHECK(src.counter == 4);  // the calibration batch is the first micro-batch, not an extra one
}

TEST_CASE("loss, LR and clipping as handed to the backend", "[loop]") {
    FakeModel m;
    FakeSource src(2, 4);
    TrainArgs a = base_args();
    a.grad_clip = 0.05f;
    a.steps = 6;
    a.lr_horizon = 6;
    TrainResult r = run_training(m, a, src, {});
    REQUIRE(m.lrs.size() == 6);
    CHECK(m.lrs[0] == Approx(0.005));  // warmup 1/2
    CHECK(m.lrs[1] == Approx(0.01));
    CHECK(m.lrs[3] == Approx(0.001 + 0.009 * 0.5));  // halfway between warmup end and horizon
    CHECK(m.lrs[5] == Approx(0.001));
    for (size_t i = 0; i < 6; i++) {
        if (m.norms[i] > 0.05f) CHECK(m.clip_scales[i] == Approx(0.05 / m.norms[i]));
        else CHECK(m.clip_scales[i] == 1.0f);
    }
    // the step's loss is the mean over both micro-batches' targets (equal counts here)
    FakeModel m2;
    FakeSource s2(2, 4);
    std::vector<int> in(8), tg(8);
    double sum = 0;
    for (int i = 0; i < 2; i++) {
        s2.next(in.data(), tg.data());
        sum += m2.forward(in.data(), tg.data(), 2, 4).ce;
    }
    CHECK(r.losses[0] == Approx(sum / 2).epsilon(1e-6));
}

TEST_CASE("resume reproduces the uninterrupted run bit for bit", "[loop][resume]") {
    TrainArgs a = base_args();
    a.steps = 10;
    a.lr_horizon = 10;
    a.remove.at(PATH_LN2) = {3, 2};
    a.remove.at(PATH_LN1QK) = {7, 1};
    a.remove.at(PATH_LNF).start = 9;
    a.ckpt_every = 3;
    const std::string d1 = tmpdir("full"), d2 = tmpdir("split");
    a.out_dir = d1;
    // stop after step 4 (between the removals at 3 and 5), then resume from it
    ResumeRuns<FakeModel> r;
    run_full_and_resumed(r, a, d2, 4);
    CHECK(file_exists(done_ckpt_path(d2, 4)));
    CHECK(r.second.first_step == 5);
    check_losses_bitwise(r.split_losses, r.full_run.losses);
    CHECK(same_bits(r.resumed.p, r.full.p));
    // main.log of the split run holds every step once, equal to the full run's text
    std::string l1 = read_file(d1 + "/main.log"), l2 = read_file(d2 + "/main.log");
    CHECK(l1 == l2);
}

TEST_CASE("resume refuses other settings, naming them", "[loop][resume]") {
    TrainArgs a = base_args();
    a.steps = 2;
    a.ckpt_every = 2;
    a.out_dir = tmpdir("refuse");
    FakeModel m;
    FakeSource s(2, 4);
    run_training(m, a, s, {});
    TrainArgs b = a;
    b.resume = 1;
    b.steps = 4;
    b.sigma_momentum = 0.9f;
    b.B = 4;
    FakeModel m2;
    FakeSource s2(4, 4);
    try {
        run_training(m2, b, s2, {});
        FAIL("resumed");
    } catch (const Error& e) {
        std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find("--sigma-momentum") != std::string::npos);
        CHECK(msg.find("-b: checkpoint has 2, this run has 4") != std::string::npos);
        CHECK(msg.find("state_00000002_00000.bin") != std::string::npos);
    }
}

TEST_CASE("a NaN loss stops the run naming the step; the last checkpoint stays intact", "[loop][nan]") {
    TrainArgs a = base_args();
    a.steps = 6;
    a.ckpt_every = 2;
    a.out_dir = tmpdir("nan");
    FakeModel m;
    m.nan_at_forward = 6;  // step 4's first micro-batch
    FakeSource s(2, 4);
    try {
        run_training(m, a, s, {});
        FAIL("no stop");
    } catch (const Error& e) {
        std::string msg = e.what();
        INFO(msg);
        CHECK(msg.rfind("step 4:", 0) == 0);
        CHECK(msg.find("step 2") != std::string::npos);
    }
    CHECK(m.lrs.size() == 3);  // no update at step 4
    CHECK(newest_checkpoint(a.out_dir) == 2);
    TrainState st = read_train_state(state_ckpt_path(a.out_dir, 2, 0));
    CHECK(st.step == 2);
    CHECK(st.loader == "4");
    CHECK(read_file(a.out_dir + "/main.log") == read_file(a.out_dir + "/main.log"));
}

TEST_CASE("train state files reject truncation and bad magic", "[resume]") {
    const std::string d = tmpdir("state");
    make_dirs(d);
    TrainState s;
    s.step = 7;
    s.settings = "a=1\n";
    s.ln = LNState(2);
    s.ln.path(PATH_LN2, 1).frozen = true;
    s.ln.path(PATH_LN2, 1).sigma = 3.5f;
    s.ema = SigmaEMA(2, 0.9f);
    s.ema.at(SITE_LN1, 0).sigma = 1.25f;
    s.ema.at(SITE_LN1, 0).seen = 1;
    s.m = {1, 2, 3};
    s.v = {4, 5, 6};
    s.loader = std::string("ab\0c", 4);
    const std::string p = d + "/s.bin";
    write_train_state(p, s);
    TrainState r = read_train_state(p);
    CHECK(r.step == 7);
    CHECK(r.ln.path(PATH_LN2, 1).frozen);
    CHECK(r.ln.path(PATH_LN2, 1).sigma == 3.5f);
    CHECK(r.ema.at(SITE_LN1, 0).sigma == 1.25f);
    CHECK(r.ema.at(SITE_LN1, 0).seen == 1);
    CHECK(r.v == std::vector<float>{4, 5, 6});
    CHECK(r.loader == s.loader);
    std::string bytes = read_file(p);
    write_file_atomic(d + "/short.bin", bytes.data(), bytes.size() - 3);
    CHECK_THROWS_WITH(read_train_state(d + "/short.bin"), Catch::Contains("short.bin") && Catch::Contains("truncated"));
    bytes[0] ^= 1;
    write_file_atomic(d + "/magic.bin", bytes.data(), bytes.size());
    CHECK_THROWS_WITH(read_train_state(d + "/magic.bin"), Catch::Contains("magic"));
}

TEST_CASE("special divisors switch off at their step; EOT targets can be masked", "[loop]") {
    FakeModel m;
    FakeSource s(2, 4);
    TrainArgs a = base_args();
    a.steps = 4;
    a.bos_sigma_off = 3;
    a.eot_sigma_off = 2;
    a.mask_eot_targets = 1;
    run_training(m, a, s, {});
    REQUIRE(m.ln_per_forward.size() == 8);
    CHECK(m.ln_per_forward[0].bos_special);   // step 1
    CHECK(m.ln_per_forward[0].eot_special);
    CHECK(m.ln_per_forward[2].bos_special);   // step 2
    CHECK_FALSE(m.ln_per_forward[2].eot_special);
    CHECK_FALSE(m.ln_per_forward[4].bos_special);  // step 3
    CHECK(m.ln_per_forward[0].eot_token == 7);     // the fake's vocabulary is 8
    // FakeSource's targets cycle through 0..7, so every batch had a 7 to mask
    int masked = 0, sevens = 0;
    for (int t : m.last_tg) { masked += t == -1; sevens += t == 7; }
    CHECK(masked > 0);
    CHECK(sevens == 0);
}

namespace {
// A fake backend that names its device and its peak, as the CUDA model does.
struct FakeGPU : FakeModel {
    double peak = 0;
    std::string device_name() const override { return "FakeGPU 9000"; }
    double peak_flops() const override { return peak; }
    const char* precision_name() const override { return "fp32"; }
};

// Runs the loop with stdout going to a file; returns what it printed.
std::string printed_by(Model& m, TrainArgs a) {
    const std::string path = "build/tests/train/mfu_" + std::to_string(getpid()) + ".txt";
    fflush(stdout);
    const int saved = dup(1);
    FILE* f = fopen(path.c_str(), "w");
    REQUIRE(f);
    dup2(fileno(f), 1);
    FakeSource src(2, 4);
    run_training(m, a, src, {});
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    std::string out = read_file(path);
    std::remove(path.c_str());
    return out;
}
}  // namespace

TEST_CASE("throughput lines: FLOP/s and MFU against the device's peak", "[loop][mfu]") {
    // 3e12 FLOPs in 0.5 s = 6 TFLOP/s; of a 989 TFLOP/s peak 0.6067 %
    CHECK(device_line("H100 SXM", 989e12, "bf16") == "GPU H100 SXM: bf16 dense peak 989.0 TFLOP/s per GPU");
    CHECK(throughput_line(7, 3e12, 0.5, "H100 SXM", 989e12, "bf16") ==
          "step 7: 6.00 TFLOP/s per GPU, MFU 0.6% of H100 SXM bf16 peak");
    CHECK(throughput_line(7, 3e14, 0.5, "H100 SXM", 989e12, "bf16") ==
          "step 7: 600.00 TFLOP/s per GPU, MFU 60.7% of H100 SXM bf16 peak");
    CHECK(device_line("cuemu", 0, "fp32") == "GPU cuemu: peak unknown (not in the table of docs/gpu.md): MFU not reported");
    CHECK(throughput_line(3, 1e9, 0.25, "cuemu", 0, "fp32") == "step 3: 0.004 TFLOP/s per GPU (MFU n/a)");
}

TEST_CASE("the loop prints the throughput lines for a backend that names its device, and only then",
          "[loop][mfu]") {
    TrainArgs a = base_args();
    a.steps = 2;
    FakeGPU known;
    known.peak = 2e12;
    std::string out = printed_by(known, a);
    CHECK(out.find("GPU FakeGPU 9000: fp32 dense peak 2.0 TFLOP/s per GPU\n") != std::string::npos);
    for (const char* line : {"step 1: ", "step 2: "}) {
        size_t at = out.find(line);
        REQUIRE(at != std::string::npos);
        CHECK(out.find("of FakeGPU 9000 fp32 peak\n", at) != std::string::npos);
    }
    FakeGPU unknown;  // peak 0: FLOP/s only
    out = printed_by(unknown, a);
    CHECK(out.find("GPU FakeGPU 9000: peak unknown") != std::string::npos);
    CHECK(out.find("step 2: ") != std::string::npos);
    CHECK(out.find("TFLOP/s per GPU (MFU n/a)") != std::string::npos);
    FakeModel cpu;  // names no device (the CPU): no such lines
    out = printed_by(cpu, a);
    CHECK(out.find("TFLOP/s") == std::string::npos);
    CHECK(out.find("step     2/2 |") != std::string::npos);
}
