// Writes the fuzzers' seed corpus with the project's own writers: small valid files of every
// format (tests/fuzz/fuzz_*.cpp), one folder per harness under the given folder.
//   make_seeds DIR   ->  DIR/model/ DIR/train_state/ DIR/shard/ DIR/tokenizer/ DIR/hf/
//                        DIR/eval_file/ DIR/debug_state/
#include <cstdio>
#include <string>
#include <vector>

#include "eval/export_hf.h"
#include "host/error.h"
#include "io/debug_state.h"
#include "io/eval_file.h"
#include "io/file_io.h"
#include "io/hf_gpt2.h"
#include "io/model_file.h"
#include "io/shard.h"
#include "io/tokenizer_bin.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/train_state.h"

using namespace noln;

// config.json, a NUL, model.safetensors: the fuzz_hf input layout
static void hf_seed(const std::string& out, const std::string& folder) {
    std::string s = read_file(folder + "/config.json");
    s += '\0';
    s += read_file(folder + "/model.safetensors");
    write_file_atomic(out, s.data(), s.size());
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    try {
        const std::string d = argv[1];
        for (const char* h : {"model", "train_state", "shard", "tokenizer", "hf", "eval_file", "debug_state"})
            make_dirs(d + "/" + h);
        const GPT2Config c = fuzz::small_config();
        std::vector<float> p(num_parameters(c));
        gpt2_init_params(c, p.data(), 1);
        LNState ln(c.num_layers);
        ln.path(PATH_LN2, 0) = {true, 0.5f, 0.25f};
        ln.path(PATH_LN1QK, 0) = {true, 0.75f, 0.5f};
        ln.bos_special = true;

        write_model_file(d + "/model/plain_v3.bin", c, p.data(), MODEL_VERSION_FP32, nullptr);
        write_model_file(d + "/model/trailer_v3.bin", c, p.data(), MODEL_VERSION_FP32, &ln);
        write_model_file(d + "/model/trailer_v5.bin", c, p.data(), MODEL_VERSION_BF16, &ln);

        TrainState st;
        st.step = 3;
        st.settings = "a=1\nb=2\n";
        st.ln = ln;
        st.ema = SigmaEMA(c.num_layers, 0.9f);
        st.m.assign(8, 0.5f);
        st.v.assign(8, 0.25f);
        st.loader = "loader-state";
        write_train_state(d + "/train_state/fp32.bin", st);
        st.master.assign(8, 1.0f);
        write_train_state(d + "/train_state/masters.bin", st);

        write_shard(d + "/shard/a.bin", std::vector<int>{50256, 1, 2, 3, 50256, 7});
        write_shard(d + "/shard/b.bin", std::vector<int>{0});

        write_tokenizer_bin(d + "/tokenizer/v2.bin", {"a", "b", "\xC4\xA0the", std::string("\0\xff", 2)}, 3);

        write_hf_gpt2(d + "/hf/gpt2", c, p.data());
        hf_seed(d + "/hf/gpt2.seed", d + "/hf/gpt2");
        LNState frozen(c.num_layers);
        for (LNPath& q : frozen.paths) q = {true, 1.5f, 1.0f};
        frozen.path(PATH_LN1V, 0).sigma = 2.0f;  // a split ln_1, folded
        ExportOptions o;
        o.fold_ln1_split = true;
        export_hf_lnfree(d + "/hf/lnfree", c, p.data(), frozen, o);
        hf_seed(d + "/hf/lnfree.seed", d + "/hf/lnfree");
        for (const char* f : {"gpt2", "lnfree"}) {
            std::string rm = "rm -rf '" + d + "/hf/" + f + "'";
            if (system(rm.c_str()) != 0) fail("%s: cannot remove", rm.c_str());
        }

        EvalExample ex;
        ex.label = 2;
        ex.context = {1, 2, 3};
        ex.completions = {{4}, {5, 6}, {7}, {8, 9, 10}};
        write_eval_file(d + "/eval_file/two.bin", {ex, ex});

        DebugState ds;
        ds.B = 1;
        ds.T = 2;
        ds.x = {1, 2};
        ds.y = {2, -1};
        ds.logits.assign(2 * c.vocab_size, 0.5f);
        ds.grads.assign(num_parameters(c), 0.125f);
        write_debug_state(d + "/debug_state/plain.bin", c, ds);
        ds.has_trailer = true;
        ds.step_losses = {3.0f, 2.5f};
        write_debug_state(d + "/debug_state/trailer.bin", c, ds);
        printf("make_seeds: wrote the seed corpus to %s\n", d.c_str());
    } catch (const Error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
