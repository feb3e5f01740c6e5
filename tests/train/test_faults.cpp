// Faults around the output folder and checkpoints (issue 11) against the fake backend: the
// folder lock (held, stale), orphaned temporary files, checkpoint checksums and the model /
// state tie, the fallback to an older intact checkpoint, NaN in a loaded optimizer state,
// --lr-horizon kept across a resume with another -x, and logs cut back on resume.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "host/error.h"
#include "io/file_io.h"
#include "io/model_file.h"
#include "train/logger.h"
#include "train/out_dir.h"
#include "train/train_state.h"
#include "tests/train/fake_model.h"
#include "tests/train/resume_util.h"

using namespace noln;
using namespace noln_test;

static TrainArgs fault_args(const std::string& dir) {
    TrainArgs a = small_run_args();
    a.steps = 6;
    a.lr_horizon = 8;  // the same LR schedule whatever -x
    a.ckpt_every = 2;
    a.out_dir = dir;
    return a;
}

static std::string host() {
    char b[256] = {0};
    gethostname(b, sizeof b - 1);
    return b;
}

// A pid that is certainly not running: a child that has exited and been reaped.
static long dead_pid() {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, nullptr, 0);
    return (long)p;
}

static void put(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

static void flip_byte(const std::string& path, long offset) {
    std::string s = read_file(path);
    s[offset < 0 ? s.size() + offset : offset] ^= 0x5a;
    put(path, s);
}

static std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST_CASE("the output folder's lock: refused while held, taken over when stale, released", "[faults][lock]") {
    const std::string d = tmpdir("lock");
    make_dirs(d);
    {
        std::string note;
        OutputLock mine(d, &note);
        CHECK(note.empty());
        CHECK(read_file(lock_path(d)) == "pid " + std::to_string((long)getpid()) + " host " + host() + "\n");
        // a second trainer on the same folder is refused, naming the holder
        const std::string msg = error_of([&] { OutputLock other(d, nullptr); });
        INFO(msg);
        CHECK(msg.find("in use by the trainer with pid " + std::to_string((long)getpid()) + " on host " + host()) != std::string::npos);
        CHECK(msg.find(lock_path(d)) != std::string::npos);
    }
    CHECK_FALSE(file_exists(lock_path(d)));  // released
    // held by a live process of this host (our parent): refused
    put(lock_path(d), "pid " + std::to_string((long)getppid()) + " host " + host() + "\n");
    CHECK(error_of([&] { OutputLock l(d, nullptr); }).find("in use") != std::string::npos);
    // held on another host: refused whatever the pid (we cannot tell whether it runs)
    put(lock_path(d), "pid " + std::to_string(dead_pid()) + " host other-host-xyz\n");
    CHECK(error_of([&] { OutputLock l(d, nullptr); }).find("on host other-host-xyz") != std::string::npos);
    // stale: this host, pid gone: taken over, saying so
    const long gone = dead_pid();
    put(lock_path(d), "pid " + std::to_string(gone) + " host " + host() + "\n");
    std::string note;
    {
        OutputLock l(d, &note);
        CHECK(note.find("took over the stale lock") != std::string::npos);
        CHECK(note.find(std::to_string(gone)) != std::string::npos);
    }
    // not a lock: refused rather than overwritten
    put(lock_path(d), "garbage");
    CHECK(error_of([&] { OutputLock l(d, nullptr); }).find("not a lock file") != std::string::npos);
}

TEST_CASE("a run refuses a folder another trainer holds; the holder's files stay", "[faults][lock]") {
    const std::string d = tmpdir("lock_run");
    OutputLock holder(d, nullptr);
    FakeModel m;
    FakeSource s(2, 4);
    TrainArgs a = fault_args(d);
    CHECK(error_of([&] { run_training(m, a, s, {}); }).find("in use by the trainer") != std::string::npos);
    CHECK_FALSE(file_exists(d + "/main.log"));
    CHECK(newest_checkpoint(d) == 0);
}

TEST_CASE("orphaned temporary files of dead processes are removed at start, others kept", "[faults][tmp]") {
    const std::string d = tmpdir("orphans");
    make_dirs(d);
    const std::string dead = d + "/model_00000004.bin.tmp." + std::to_string(dead_pid());
    const std::string live = d + "/model_00000004.bin.tmp." + std::to_string((long)getppid());
    const std::string other = d + "/notes.tmp.txt";
    put(dead, "partial");
    put(live, "partial");
    put(other, "x");
    std::vector<std::string> removed = remove_orphaned_temps(d);
    REQUIRE(removed.size() == 1);
    CHECK(removed[0].find(dead) != std::string::npos);
    CHECK_FALSE(file_exists(dead));
    CHECK(file_exists(live));
    CHECK(file_exists(other));
}

TEST_CASE("checkpoint files carry checksums; a damaged file is refused naming it", "[faults][checksum]") {
    const std::string d = tmpdir("checksum");
    FakeModel m;
    FakeSource s(2, 4);
    TrainArgs a = fault_args(d);
    a.steps = 2;
    run_training(m, a, s, {});
    const std::string mp = model_ckpt_path(d, 2), sp = state_ckpt_path(d, 2, 0);
    ModelFile mf = read_model_file(mp);
    TrainState st = read_train_state(sp);
    CHECK(mf.ckpt_step == 2);
    CHECK(mf.run_id != 0);
    CHECK(mf.run_id == st.run_id);
    CHECK(mf.checksum == st.model_checksum);
    // a flipped byte in the parameters, in the trailer records, in the state's moments
    const std::string m0 = read_file(mp), s0 = read_file(sp);
    flip_byte(mp, 1024 + 8);
    CHECK(error_of([&] { read_model_file(mp); }).find(mp + ": checksum mismatch") != std::string::npos);
    put(mp, m0);
    flip_byte(mp, -5);
    CHECK(error_of([&] { read_model_file(mp); }).find("checksum mismatch") != std::string::npos);
    put(mp, m0);
    flip_byte(sp, 1024 + 200);
    CHECK(error_of([&] { read_train_state(sp); }).find(sp + ": checksum mismatch") != std::string::npos);
    put(sp, s0);
    // an old (version 1) trailer: no checkpoint id and no checksum; still read
    std::string v1 = m0;
    const size_t t = v1.size() - 1024 - 12 * num_paths(2);
    int32_t one = 1;
    memcpy(&v1[t + 4], &one, 4);
    memset(&v1[t + 24], 0, 24);
    put(mp, v1);
    ModelFile old = read_model_file(mp);
    CHECK(old.has_ln_state);
    CHECK(old.run_id == 0);
    CHECK(old.checksum == 0);
    CHECK(old.params == mf.params);
}

TEST_CASE("a NaN or Inf in a loaded optimizer state is refused naming the file", "[faults][nan]") {
    const std::string d = tmpdir("nan_state");
    make_dirs(d);
    TrainState st;
    st.ln = LNState(2);
    st.ema = SigmaEMA(2, 0.9f);
    st.m.assign(10, 0.0f);
    st.v.assign(10, 1.0f);
    const std::string p = d + "/state.bin";
    write_train_state(p, st);
    CHECK_NOTHROW(read_train_state(p));
    st.m[3] = NAN;
    write_train_state(p, st);
    std::string msg = error_of([&] { read_train_state(p); });
    CHECK(msg.find(p + ": AdamW m[3] is nan") != std::string::npos);
    st.m[3] = 0;
    st.v[7] = INFINITY;
    write_train_state(p, st);
    CHECK(error_of([&] { read_train_state(p); }).find("AdamW v[7] is inf") != std::string::npos);
}

static TrainResult resume_after(const std::string& dir, TrainArgs a, FakeModel& m) {
    a.out_dir = dir;
    a.resume = 1;
    FakeSource s(2, 4);
    return run_training(m, a, s, {});
}

TEST_CASE("resume skips a damaged, mixed or stray newest checkpoint and falls back", "[faults][fallback]") {
    const std::string full = tmpdir("fb_full");
    TrainArgs a = fault_args(full);
    a.steps = 8;
    FakeModel fm;
    FakeSource fs(2, 4);
    const TrainResult ref = run_training(fm, a, fs, {});
    // a second, different run of 6 steps whose files we mix in
    const std::string other = tmpdir("fb_other");
    {
        TrainArgs b = fault_args(other);
        FakeModel om;
        FakeSource os(2, 4);
        run_training(om, b, os, {});
    }
    auto split_run = [&](const std::string& tag) {
        const std::string dir = tmpdir(tag);
        TrainArgs b = fault_args(dir);
        b.steps = 6;
        FakeModel pm;
        FakeSource ps(2, 4);
        run_training(pm, b, ps, {});
        return dir;
    };
    auto finish = [&](const std::string& dir, int expect_from) {
        FakeModel m;
        TrainResult r = resume_after(dir, a, m);
        CHECK(r.first_step == expect_from + 1);
        std::vector<float> want(ref.losses.begin() + expect_from, ref.losses.end());
        check_losses_bitwise(r.losses, want);
        CHECK(same_bits(m.p, fm.p));
        CHECK(read_file(dir + "/main.log") == read_file(full + "/main.log"));
    };
    SECTION("the model file of step 6 from another run") {
        const std::string d = split_run("fb_mixed");
        put(model_ckpt_path(d, 6), read_file(model_ckpt_path(other, 6)));
        finish(d, 4);
    }
    SECTION("a damaged state file of step 6") {
        const std::string d = split_run("fb_damaged");
        flip_byte(state_ckpt_path(d, 6, 0), -3);
        finish(d, 4);
    }
    SECTION("a stray DONE marker of step 7 without files, a truncated model of step 6") {
        const std::string d = split_run("fb_stray");
        put(done_ckpt_path(d, 7), "");
        std::string mp = read_file(model_ckpt_path(d, 6));
        put(model_ckpt_path(d, 6), mp.substr(0, mp.size() / 2));
        finish(d, 4);
    }
    SECTION("every checkpoint damaged or mixed: refused, naming each, not restarted") {
        const std::string d = split_run("fb_none");
        for (int k : {2, 4}) flip_byte(state_ckpt_path(d, k, 0), -3);
        put(model_ckpt_path(d, 6), read_file(model_ckpt_path(other, 6)));
        FakeModel m;
        std::string msg = error_of([&] { resume_after(d, a, m); });
        INFO(msg);
        CHECK(msg.find("no intact checkpoint in " + d) != std::string::npos);
        CHECK(msg.find(model_ckpt_path(d, 6) + " and " + state_ckpt_path(d, 6, 0) + " are not one checkpoint") !=
              std::string::npos);
        CHECK(msg.find(state_ckpt_path(d, 2, 0) + ": checksum mismatch") != std::string::npos);
        CHECK(m.lrs.empty());  // no step was trained
    }
}

TEST_CASE("--lr-horizon left to its default keeps the run's horizon across a resume with a longer -x",
          "[faults][horizon]") {
    // the docs' example: -x 6, then -x 12 -y 1 with the same other flags
    const std::string d = tmpdir("horizon");
    TrainArgs a = fault_args(d);
    a.lr_horizon = 0;  // the default: -x, here 6
    a.ckpt_every = 3;
    FakeModel m1;
    FakeSource s1(2, 4);
    run_training(m1, a, s1, {});
    FakeModel m2;
    TrainArgs b = a;
    b.steps = 12;
    TrainResult r = resume_after(d, b, m2);
    CHECK(r.first_step == 7);
    REQUIRE(m2.lrs.size() == 6);
    for (float lr : m2.lrs) CHECK(lr == Approx(a.lr * a.final_frac));  // past the horizon (6): -l*-q
    // an explicit other horizon is a different schedule: refused, naming it
    FakeModel m3;
    b.lr_horizon = 12;
    CHECK(error_of([&] { resume_after(d, b, m3); }).find("--lr-horizon: checkpoint has 6, this run has 12") !=
          std::string::npos);
}

TEST_CASE("logs are cut back to the checkpoint's step on resume: no step logged twice", "[faults][logs]") {
    const std::string full = tmpdir("logs_full"), d = tmpdir("logs_split");
    TrainArgs a = fault_args(full);
    a.steps = 8;
    a.val_every = 3;
    a.remove.at(PATH_LN2) = {3, 2};
    FakeModel fm;
    FakeSource fs(2, 4);
    TrainHooks h;
    h.val_loss = [] { return 1.5f; };
    run_training(fm, a, fs, h);
    // the split run reaches step 6 (checkpoints 2, 4, 6), as if killed after logging step 6
    // before its checkpoint (DONE_6 gone) and in the middle of a line
    TrainArgs b = a;
    b.out_dir = d;
    b.steps = 6;
    FakeModel pm;
    FakeSource ps(2, 4);
    run_training(pm, b, ps, h);
    remove(done_ckpt_path(d, 6).c_str());
    {
        std::ofstream(d + "/main.jsonl", std::ios::app) << "{\"step\":7,\"ce\":";
    }
    FakeModel m;
    b.steps = 8;
    b.resume = 1;
    FakeSource s(2, 4);
    TrainResult r = run_training(m, b, s, h);
    CHECK(r.first_step == 5);
    CHECK(read_file(d + "/main.log") == read_file(full + "/main.log"));
    // main.jsonl: the same lines but for the timings
    auto strip = [](const std::string& t) {
        std::string out;
        for (size_t i = 0; i < t.size();) {
            size_t k = t.find("\"ms\":", i);
            if (k == std::string::npos) { out += t.substr(i); break; }
            size_t e = t.find(",\"ln2\"", k);
            out += t.substr(i, k - i);
            i = e;
        }
        return out;
    };
    CHECK(strip(read_file(d + "/main.jsonl")) == strip(read_file(full + "/main.jsonl")));
}

TEST_CASE("truncate_log keeps whole lines of steps up to the checkpoint", "[faults][logs]") {
    const std::string d = tmpdir("trunc");
    make_dirs(d);
    const std::string p = d + "/main.log";
    put(p, "s:0 tel:4\ns:1 trl:3\ns:2 trl:2\ns:2 tel:2.5\ns:3 trl:1\ns:4 trl:0.5\n");
    truncate_log(p, 2);
    CHECK(read_file(p) == "s:0 tel:4\ns:1 trl:3\ns:2 trl:2\ns:2 tel:2.5\n");
    put(p, "s:1 trl:3\ns:2 tr");
    truncate_log(p, 5);
    CHECK(read_file(p) == "s:1 trl:3\n");
    truncate_log(d + "/absent.log", 3);
    CHECK_FALSE(file_exists(d + "/absent.log"));
}
