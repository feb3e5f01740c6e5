// issue 11 items 5 and 10 at the library level: reserved header slots that docs/formats.md
// says are 0 are checked; an HF config.json with huge sizes fails on the file, not in the
// allocator; NaN/Inf weights name the file when the model is loaded.
#include <cmath>
#include <cstring>

#include "io/debug_state.h"
#include "io/eval_file.h"
#include "io/hf_gpt2.h"
#include "io/model_file.h"
#include "io/shard.h"
#include "io/tokenizer_bin.h"
#include "tests/formats/test_util.h"
#include "tests/fuzz/fuzz_util.h"  // small_config: the fuzzers' model shape

using namespace noln;
using namespace testutil;

namespace {

// The file at path with int32 slot `slot` (from byte `base`) set to `v`, written to path + ".bad".
std::string poke(const std::string& path, size_t base, int slot, int32_t v) {
    std::string b = read_bytes(path);
    memcpy(&b[base + 4 * (size_t)slot], &v, 4);
    write_bytes(path + ".bad", b);
    return path + ".bad";
}

}  // namespace

TEST_CASE("reserved header slots must be 0", "[formats][reserved]") {
    TempDir td;
    const GPT2Config c = fuzz::small_config();
    std::vector<float> p(num_parameters(c), 0.5f);
    const std::string model = td.file("m.bin");
    write_model_file(model, c, p.data(), MODEL_VERSION_FP32, nullptr);
    REQUIRE_NOTHROW(read_model_file(model));
    REQUIRE_THROWS_WITH(read_model_file(poke(model, 0, 8, 1)), NAMES("m.bin.bad", "model header slot 8 is 1, expected 0"));
    REQUIRE_THROWS_WITH(read_model_file(poke(model, 0, 255, -3)), NAMES("m.bin.bad", "slot 255 is -3"));

    const std::string shard = td.file("s.bin");
    write_shard(shard, std::vector<int>{1, 2, 3});
    REQUIRE_NOTHROW(read_shard(shard, 10));
    REQUIRE_THROWS_WITH(read_shard(poke(shard, 0, 3, 7), 10), NAMES("s.bin.bad", "shard header slot 3 is 7"));

    const std::string tok = td.file("t.bin");
    write_tokenizer_bin(tok, {"a", "b"}, 1);
    REQUIRE_NOTHROW(read_tokenizer_bin(tok));
    REQUIRE_THROWS_WITH(read_tokenizer_bin(poke(tok, 0, 4, 9)), NAMES("t.bin.bad", "tokenizer header slot 4 is 9"));

    const std::string ev = td.file("e.bin");
    EvalExample ex;
    ex.label = 1;
    ex.context = {1, 2};
    ex.completions = {{3}, {4}, {5}, {6}};
    write_eval_file(ev, {ex});
    REQUIRE_NOTHROW(read_eval_file(ev, 10));
    REQUIRE_THROWS_WITH(read_eval_file(poke(ev, 0, 4, 2), 10), NAMES("e.bin.bad", "eval header slot 4 is 2"));

    const std::string ds = td.file("d.bin");
    DebugState s;
    s.B = 1;
    s.T = 2;
    s.x = {1, 2};
    s.y = {2, 3};
    s.logits.assign(2 * 10, 0.25f);
    s.grads.assign(num_parameters(c), 0.125f);
    s.has_trailer = true;
    s.step_losses = {1.0f, 2.0f};
    write_debug_state(ds, c, s);
    REQUIRE_NOTHROW(read_debug_state(ds, c));
    REQUIRE_THROWS_WITH(read_debug_state(poke(ds, 0, 4, 5), c), NAMES("d.bin.bad", "debug state header slot 4 is 5"));
    const size_t trailer = read_bytes(ds).size() - (32 + 2) * 4;
    REQUIRE_THROWS_WITH(read_debug_state(poke(ds, trailer, 3, 1), c), NAMES("d.bin.bad", "noln trailer slot 3 is 1"));
    REQUIRE_THROWS_WITH(read_debug_state(poke(ds, trailer, 30, 1), c), NAMES("d.bin.bad", "noln trailer slot 30 is 1"));
}

// Before: read_hf_gpt2 allocated num_parameters(config) floats (here 2.2e11 bytes) before it
// looked at the safetensors file, and died of std::bad_alloc.
TEST_CASE("hf_gpt2: a config.json with huge sizes fails on the file, not the allocator", "[hf][limits]") {
    TempDir td;
    const GPT2Config c = fuzz::small_config();
    std::vector<float> p(num_parameters(c), 0.5f);
    write_hf_gpt2(td.path, c, p.data());
    write_bytes(td.file("config.json"),
                "{\"n_layer\": 1, \"n_head\": 16, \"n_embd\": 65536, \"n_positions\": 1024, \"vocab_size\": 50257}");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES("model.safetensors", "tensor wte.weight has shape (10, 4), expected (50257, 65536)"));
    // n_layer also sizes the tensor list and the LN state: a billion layers against a
    // 16-tensor file names the first missing tensor instead of building them
    write_bytes(td.file("config.json"),
                "{\"n_layer\": 1000000000, \"n_head\": 1, \"n_embd\": 1, \"n_positions\": 1, \"vocab_size\": 1, \"layer_norm_epsilon\": 1e12}");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES("model.safetensors", "missing tensor h.1.ln_1.weight"));
}

TEST_CASE("NaN/Inf weights name the file and the tensor when loaded", "[formats][limits]") {
    TempDir td;
    const GPT2Config c = fuzz::small_config();
    std::vector<float> p(num_parameters(c), 0.5f);
    p[param_offset(c, P_FCW) + 3] = NAN;
    write_model_file(td.file("nan.bin"), c, p.data(), MODEL_VERSION_FP32, nullptr);
    REQUIRE_THROWS_WITH(read_any_model(td.file("nan.bin")), NAMES("nan.bin", "non-finite weight fcw[3] = nan"));
    p[param_offset(c, P_FCW) + 3] = 0;
    p[param_offset(c, P_LNFB)] = INFINITY;
    write_hf_gpt2(td.file("hf"), c, p.data());
    REQUIRE_THROWS_WITH(read_any_model(td.file("hf")), NAMES("hf", "non-finite weight lnfb[0] = inf"));
}
