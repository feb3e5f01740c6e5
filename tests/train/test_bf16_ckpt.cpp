// Checkpoints of a backend that trains in bf16 (host/model.h "What a checkpoint stores"),
// against a fake one whose working parameters are a stochastic rounding of fp32 masters,
// as the CUDA BF16 build's are: its model file is v5 with exactly the working parameters,
// its state file carries the masters, and a resume reproduces the uninterrupted run bit
// for bit; precisions do not mix; a state file of another version is refused.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "host/error.h"
#include "io/file_io.h"
#include "io/model_file.h"
#include "train/train_state.h"
#include "tests/train/fake_model.h"
#include "tests/train/resume_util.h"

using namespace noln;
using namespace noln_test;

namespace {

// Stochastic rounding to bf16 with a hash of (step, index) as the random bits: what the
// CUDA AdamW does, and never what round-to-nearest gives for every parameter.
float bf16_stochastic(float x, uint32_t step, uint32_t i) {
    uint32_t h = step * 0x9E3779B1u ^ (i + 0x7F4A7C15u) * 0x85EBCA77u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 13;
    uint32_t b;
    std::memcpy(&b, &x, 4);
    b = (b + (h & 0xFFFFu)) & 0xFFFF0000u;
    float r;
    std::memcpy(&r, &b, 4);
    return r;
}
float bf16_nearest(float x) { return bf16_to_float(float_to_bf16(x)); }

class FakeBF16Model : public FakeModel {
public:
    std::vector<float> master;
    FakeBF16Model() {
        master = p;
        for (float& x : p) x = bf16_nearest(x);
    }
    void get_parameters(float* out) const override { std::copy(master.begin(), master.end(), out); }
    void set_parameters(const float* in) override {
        master.assign(in, in + p.size());
        for (size_t i = 0; i < p.size(); i++) p[i] = bf16_nearest(in[i]);
    }
    void adamw_step(const AdamW& h, float scale, int t) override {
        p = master;  // the update runs on the masters
        FakeModel::adamw_step(h, scale, t);
        master = p;
        for (size_t i = 0; i < p.size(); i++) p[i] = bf16_stochastic(master[i], (uint32_t)t, (uint32_t)i);
    }
    int model_file_version() const override { return MODEL_VERSION_BF16; }
    void get_working_parameters(float* out) const override { std::copy(p.begin(), p.end(), out); }
    void set_working_parameters(const float* in) override { std::copy(in, in + p.size(), p.begin()); }
    bool has_master_weights() const override { return true; }
    void get_master_weights(float* out) const override { std::copy(master.begin(), master.end(), out); }
    void set_master_weights(const float* in) override { master.assign(in, in + p.size()); }
};


TrainArgs bf16_args() {
    TrainArgs a = small_run_args();
    a.steps = 10;
    a.lr_horizon = 10;
    a.sigma_momentum = 0.5f;
    a.remove.at(PATH_LN2) = {3, 2};
    a.remove.at(PATH_LN1QK) = {7, 1};
    a.remove.at(PATH_LNF).start = 9;
    return a;
}


// Overwrites the version field of a state file (header int32 [1]).
void set_state_version(const std::string& path, int32_t version) {
    std::string bytes = read_file(path);
    std::memcpy(&bytes[4], &version, 4);
    write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace

TEST_CASE("a bf16 backend's checkpoint is v5 with its working parameters, the masters in the state",
          "[resume][bf16]") {
    TrainArgs a = bf16_args();
    a.steps = 4;
    a.ckpt_every = 4;
    a.out_dir = tmpdir("bf16_files");
    FakeBF16Model m;
    FakeSource s(2, 4);
    run_training(m, a, s, {});
    ModelFile mf = read_model_file(model_ckpt_path(a.out_dir, 4));
    CHECK(mf.version == MODEL_VERSION_BF16);
    CHECK(mf.has_ln_state);
    CHECK(same_bits(mf.params, m.p));
    TrainState st = read_train_state(state_ckpt_path(a.out_dir, 4, 0));
    CHECK(same_bits(st.master, m.master));
    // the case that makes this matter: the working parameters are not the nearest rounding
    // of the masters, so rebuilding them from the masters would change the run
    size_t differ = 0;
    for (size_t i = 0; i < m.p.size(); i++) differ += m.p[i] != bf16_nearest(m.master[i]);
    CHECK(differ > m.p.size() / 10);
}

TEST_CASE("a bf16 backend resumes bit for bit", "[resume][bf16]") {
    TrainArgs a = bf16_args();
    a.ckpt_every = 3;
    a.out_dir = tmpdir("bf16_full");
    // stop after step 4 (between the removals at 3 and 5), then resume from it on a fresh
    // model: everything must come from the checkpoint
    const std::string split = tmpdir("bf16_split");
    ResumeRuns<FakeBF16Model> r;
    run_full_and_resumed(r, a, split, 4);
    REQUIRE(r.second.first_step == 5);
    check_losses_bitwise(r.split_losses, r.full_run.losses);
    CHECK(same_bits(r.resumed.p, r.full.p));
    CHECK(same_bits(r.resumed.master, r.full.master));
    CHECK(read_file(a.out_dir + "/main.log") == read_file(split + "/main.log"));
}

TEST_CASE("checkpoints of the two precisions are not interchangeable", "[resume][bf16]") {
    TrainArgs a = bf16_args();
    a.steps = 2;
    a.ckpt_every = 2;
    TrainArgs b = a;
    b.resume = 1;
    b.steps = 4;
    {
        a.out_dir = b.out_dir = tmpdir("bf16_b2f");
        FakeBF16Model m;
        FakeSource s(2, 4);
        run_training(m, a, s, {});
        FakeModel f;
        FakeSource s2(2, 4);
        CHECK_THROWS_WITH(run_training(f, b, s2, {}),
                          Catch::Contains("state_00000002_00000.bin") && Catch::Contains("cannot resume") &&
                              Catch::Contains("from a BF16") && Catch::Contains("this trainer is FP32"));
    }
    {
        a.out_dir = b.out_dir = tmpdir("bf16_f2b");
        FakeModel m;
        FakeSource s(2, 4);
        run_training(m, a, s, {});
        FakeBF16Model f;
        FakeSource s2(2, 4);
        CHECK_THROWS_WITH(run_training(f, b, s2, {}),
                          Catch::Contains("from a FP32") && Catch::Contains("this trainer is BF16"));
    }
}

TEST_CASE("a state file of another version is refused", "[resume][bf16]") {
    TrainArgs a = bf16_args();
    a.steps = 2;
    a.ckpt_every = 2;
    a.out_dir = tmpdir("bf16_version");
    FakeBF16Model m;
    FakeSource s(2, 4);
    run_training(m, a, s, {});
    const std::string sp = state_ckpt_path(a.out_dir, 2, 0);
    CHECK_NOTHROW(read_train_state(sp));
    // version 1 (no master weights; never released) and an unknown later version are both
    // refused, naming the file and the versions this build reads
    for (int32_t v : {1, 4}) {
        set_state_version(sp, v);
        CHECK_THROWS_WITH(read_train_state(sp), Catch::Contains(sp) && Catch::Contains("version " + std::to_string(v)) &&
                                                    Catch::Contains("this build reads 2 and 3"));
    }
}

TEST_CASE("state files carry master weights; truncated or mismatched ones are refused", "[resume][bf16]") {
    const std::string d = tmpdir("bf16_state");
    make_dirs(d);
    TrainState s;
    s.step = 3;
    s.settings = "a=1\n";
    s.ln = LNState(2);
    s.ema = SigmaEMA(2, 0.9f);
    s.m = {1, 2, 3};
    s.v = {4, 5, 6};
    s.master = {0.5f, -1.25f, 3e-8f};
    s.loader = "xy";
    const std::string p = d + "/s.bin";
    write_train_state(p, s);
    TrainState r = read_train_state(p);
    CHECK(r.master == s.master);
    CHECK(r.v == s.v);
    CHECK(r.loader == "xy");
    std::string bytes = read_file(p);
    // cut inside the masters: the loader state (2 bytes) and 1 master float missing
    write_file_atomic(d + "/short.bin", bytes.data(), bytes.size() - 2 - 4);
    CHECK_THROWS_WITH(read_train_state(d + "/short.bin"),
                      Catch::Contains("short.bin") && Catch::Contains("truncated master weights"));
    // a master count that is neither 0 nor the moment count
    uint64_t bad = 2;
    std::memcpy(&bytes[40], &bad, 8);
    write_file_atomic(d + "/count.bin", bytes.data(), bytes.size());
    CHECK_THROWS_WITH(read_train_state(d + "/count.bin"),
                      Catch::Contains("count.bin") && Catch::Contains("2 master weights"));
    s.master = {1};
    CHECK_THROWS_AS(write_train_state(d + "/w.bin", s), Error);
}
