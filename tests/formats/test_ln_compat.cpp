// Files written before the LN paths became one table (host/ln_paths.h) still load to the
// same values and are re-written byte for byte: the fixtures in tests/formats/fixtures/ are
// a step-3 checkpoint of the unchanged trainer with a mixed LN state. How they were made
// (from the repo root, with the build of commit 9ab1cf9; one command line):
//   python3 tests/train/make_shards.py /tmp/fx8 16
//   ./train_gpt2_noln_cpu -e d2 --width 4 --heads 1 --vocab 16 --max-seq 4 -t 4 -b 2 -d 8
//       -i '/tmp/fx8/train_*.bin' -v 0 -l 3e-3 -x 3 -n 3 -o /tmp/fx8/ck --shuffle 0 --seed 7
//       --remove ln2=1/1,ln1qk=2/5,ln1v=2/1,lnf=3 --bos-sigma-off 100 --eot-sigma-off 100
//   ln_mixed_model.bin = model_00000003.bin, ln_mixed_state.bin = state_00000003_00000.bin,
//   ln_mixed_step.jsonl = main.jsonl's step-3 line.
// At step 3: ln2[0..1], ln1qk[0], ln1v[0..1] and lnf FROZEN, ln1qk[1] REAL (so layer 1 is
// split), both special divisors on, EOT = 15; the EMA of ln1[1] kept tracking after
// ln1v[1] froze. The expected values were printed (as hex floats) by the old readers.
#include <catch2/catch.hpp>

#include <cstring>

#include "io/json.h"
#include "train/logger.h"
#include "io/model_file.h"
#include "train/args.h"
#include "train/train_state.h"
#include "tests/formats/test_util.h"

using namespace noln;
using testutil::read_bytes;
using testutil::TempDir;

namespace {

// The fixtures predate run ids and checksums (LN trailer version 1, training state version
// 2); this build re-writes them as trailer version 2 / state version 3, whose only other
// bytes are the version and the id and checksum slots (docs/formats.md, docs/training.md).
// Zeroes those slots (int32 indices `slots` of the 256-int header at byte `at`).
std::string without(std::string b, size_t at, std::initializer_list<int> slots) {
    for (int i : slots) memset(&b[at + 4 * i], 0, 4);
    return b;
}

const char* MODEL = "tests/formats/fixtures/ln_mixed_model.bin";
const char* STATE = "tests/formats/fixtures/ln_mixed_state.bin";
const char* STEP = "tests/formats/fixtures/ln_mixed_step.jsonl";

// The fixture's LN state in path order: frozen, sigma, sigma_bos (the model trailer's and
// the training state's, which agree).
struct Want {
    const char* label;
    bool frozen;
    float sigma, sigma_bos;
};
const Want WANT[] = {
    {"ln2[0]", true, 0x1.265696p-6f, 0x1.1436ecp-7f},   {"ln2[1]", true, 0x1.26cc52p-6f, 0x1.1d12b4p-7f},
    {"ln1qk[0]", true, 0x1.27f75p-6f, 0x1.218e62p-7f},  {"ln1qk[1]", false, 1.0f, 1.0f},
    {"ln1v[0]", true, 0x1.27f75p-6f, 0x1.218e62p-7f},   {"ln1v[1]", true, 0x1.2c3278p-6f, 0x1.3393eap-7f},
    {"lnf", true, 0x1.2a989ap-6f, 0x1.3fe38p-7f},
};

void check_ln(const LNState& ln) {
    REQUIRE(ln.num_layers() == 2);
    REQUIRE(ln.paths.size() == 7);
    CHECK(ln.bos_special);
    CHECK(ln.eot_special);
    CHECK(ln.eot_token == 15);
    for (int i = 0; i < 7; i++) {
        INFO(WANT[i].label);
        CHECK(path_label(path_at(i, 2)) == WANT[i].label);
        CHECK(ln.paths[i].frozen == WANT[i].frozen);
        CHECK(ln.paths[i].sigma == WANT[i].sigma);
        CHECK(ln.paths[i].sigma_bos == WANT[i].sigma_bos);
    }
    CHECK(ln.ln1_split(0));  // equal sigmas, but the EOT rule is on
    CHECK(ln.ln1_split(1));
}

}  // namespace

TEST_CASE("LN compat: a model file with a mixed LN trailer loads to the same values and re-writes byte for byte",
          "[ln_state][model_file]") {
    ModelFile m = read_model_file(MODEL);
    CHECK(m.version == MODEL_VERSION_FP32);
    CHECK(m.config.num_layers == 2);
    CHECK(m.config.channels == 4);
    REQUIRE(m.has_ln_state);
    check_ln(m.ln);
    REQUIRE(m.params.size() == 1024);
    CHECK(m.params.front() == 0x1.acb2b8p-7f);
    CHECK(m.params.back() == 0x1.1f40cp-10f);
    TempDir td;
    write_model_file(td.file("m.bin"), m.config, m.params.data(), m.version, &m.ln);
    const std::string got = read_bytes(td.file("m.bin")), want = read_bytes(MODEL);
    REQUIRE(got.size() == want.size());
    const size_t tr = 1024 + 4 * m.params.size();  // the trailer's header
    CHECK(without(got, tr, {1, 6, 7, 8, 9, 10, 11}) == without(want, tr, {1}));
}

TEST_CASE("LN compat: a training state loads to the same values and re-writes byte for byte",
          "[ln_state][train_state]") {
    TrainState s = read_train_state(STATE);
    CHECK(s.step == 3);
    CHECK(s.world == 1);
    CHECK(s.rank == 0);
    CHECK(s.settings.find("--remove=ln2=1/1,ln1qk=2/5,ln1v=2/1,lnf=3\n") != std::string::npos);
    check_ln(s.ln);
    // the EMA, site order ln1[0], ln2[0], ln1[1], ln2[1], lnf: sigma, sigma_bos, seen
    CHECK(s.ema.momentum == 0x1.ccccccp-1f);
    const SiteEMA want[] = {{0x1.27f75p-6f, 0x1.218e62p-7f, 1},
                            {0x1.265696p-6f, 0x1.1436ecp-7f, 1},
                            {0x1.4265cep-6f, 0x1.784f54p-7f, 1},
                            {0x1.26cc52p-6f, 0x1.1d12b4p-7f, 1},
                            {0x1.2a989ap-6f, 0x1.3fe38p-7f, 1}};
    REQUIRE(s.ema.sites.size() == 5);
    for (int i = 0; i < 5; i++) {
        INFO("site " << i);
        CHECK(s.ema.sites[i].sigma == want[i].sigma);
        CHECK(s.ema.sites[i].sigma_bos == want[i].sigma_bos);
        CHECK(s.ema.sites[i].seen == want[i].seen);
    }
    CHECK(s.ema.of(PATH_LN1V, 1).sigma == 0x1.4265cep-6f);
    REQUIRE(s.m.size() == 1024);
    REQUIRE(s.v.size() == 1024);
    CHECK(s.master.empty());
    CHECK(s.m.front() == 0x1.5238f8p-9f);
    CHECK(s.v.front() == 0x1.6d1f22p-16f);
    CHECK(s.m.back() == 0x1.fa7e5ap-14f);
    CHECK(s.v.back() == 0x1.b48c7ep-18f);
    CHECK(s.loader.size() > 0);
    TempDir td;
    write_train_state(td.file("s.bin"), s);
    CHECK(without(read_bytes(td.file("s.bin")), 0, {1, 16, 17}) == without(read_bytes(STATE), 0, {1}));
}

TEST_CASE("LN compat: main.jsonl's step line is unchanged for the same state", "[ln_state][logger]") {
    std::string line = read_bytes(STEP);
    REQUIRE(!line.empty());
    line.pop_back();  // the newline
    const Json j = parse_json(line, STEP);
    StepRecord r;
    r.step = (int)json_int(json_member(j, "step", STEP), "step", STEP);
    r.ce = (float)json_number(json_member(j, "ce", STEP), "ce", STEP);
    r.aux = (float)json_number(json_member(j, "aux", STEP), "aux", STEP);
    r.lr = (float)json_number(json_member(j, "lr", STEP), "lr", STEP);
    r.grad_norm = (float)json_number(json_member(j, "grad_norm", STEP), "grad_norm", STEP);
    r.ms = json_number(json_member(j, "ms", STEP), "ms", STEP);
    r.tokens_per_s = json_number(json_member(j, "tokens_per_s", STEP), "tokens_per_s", STEP);
    CHECK(step_json(r, read_model_file(MODEL).ln) == line);
}

TEST_CASE("LN compat: the fixture's settings still match a run with the same flags", "[ln_state][train_state]") {
    // the flags that wrote the fixture (see the top of this file): a resume of it compares
    // the saved settings with these, key by key
    const char* argv[] = {"train", "-e", "d2", "--width", "4", "--heads", "1", "--vocab", "16", "--max-seq", "4",
                          "-t", "4", "-b", "2", "-d", "8", "-i", "/tmp/fx8/train_*.bin", "-v", "0", "-l", "3e-3",
                          "-x", "3", "-n", "3", "-o", "/tmp/fx8/ck", "--shuffle", "0", "--seed", "7",
                          "--remove", "ln2=1/1,ln1qk=2/5,ln1v=2/1,lnf=3", "--bos-sigma-off", "100",
                          "--eot-sigma-off", "100"};
    TrainArgs a = parse_train_args((int)(sizeof argv / sizeof *argv), argv);
    resolve_grad_accum(a, 1);
    const TrainState s = read_train_state(STATE);
    const std::string now = resume_settings(a, read_model_file(MODEL).config, 1);
    CHECK_NOTHROW(check_settings_match(s.settings, now, STATE));
    a.lr = 1e-3f;  // and a different value is still caught
    CHECK_THROWS(check_settings_match(s.settings, resume_settings(a, read_model_file(MODEL).config, 1), STATE));
}
