// Writes the files tests/suites/56-export-roundtrip.sh feeds to scripts/check_export.py:
//   DIR/plain/   LN-free export of a tiny random model (every path frozen)   + DIR/plain.ref
//   DIR/fold/    the same with ln1qk != ln1v sigmas, exported with the fold + DIR/fold.ref
//   DIR/wrong.ref  logits of the plain model with one divisor 2% off: must NOT match plain/
//   DIR/folded/, DIR/folded_split/  the exact folded export (eval/export_folded.h) of the
//                  plain and the split model + their .ref files (check_export.py --folded)
//   DIR/lnfree.bin, DIR/real.bin  model files of the split model and of the same weights with
//                  every path REAL, and DIR/wide.bin (LN-free, GPT-2's 50257 tokens), for
//                  noln_dla (tests/suites/59-dla.sh)
// The .ref files hold the engine's (GPT2CPU) logits for the same tokens.
#include <cstdio>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "host/error.h"
#include "eval/export_folded.h"
#include "eval/export_hf.h"
#include "io/model_file.h"
#include "tests/eval/eval_util.h"

using namespace noln;

// DIR/NAME.ref: the engine's logits of the model (c, p) in state ref_state.
static void write_ref(const std::string& dir, const std::string& name, const GPT2Config& c,
                      const std::vector<float>& p, const LNState& ref_state,
                      const std::vector<int>& tok, int B, int T) {
    GPT2CPU m(c);
    m.set_parameters(p.data());
    m.set_ln_state(ref_state);
    write_logits_ref(dir + "/" + name + ".ref", m, tok.data(), B, T);
}

static void write_case(const std::string& dir, const std::string& name, const GPT2Config& c,
                       const std::vector<float>& p, const LNState& export_state,
                       const LNState& ref_state, const ExportOptions& o,
                       const std::vector<int>& tok, int B, int T) {
    export_hf_lnfree(dir + "/" + name, c, p.data(), export_state, o);
    write_ref(dir, name, c, p, ref_state, tok, B, T);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: export_roundtrip DIR\n");
        return 2;
    }
    try {
        std::string dir = argv[1];
        GPT2Config c = evaltest::tiny_config(3, 32, 4, 96, 24);
        std::vector<float> p = evaltest::random_params(c, 11);
        const int B = 3, T = 20;
        std::vector<int> tok(B * T);
        for (int i = 0; i < B * T; i++) tok[i] = (i * 53 + 7) % c.vocab_size;
        LNState s = evaltest::frozen_state(c.num_layers);
        write_case(dir, "plain", c, p, s, s, ExportOptions(), tok, B, T);

        LNState split = s;
        split.path(PATH_LN1V, 0).sigma *= 1.6f;
        split.path(PATH_LN1V, 2).sigma *= 0.7f;
        ExportOptions fold;
        fold.fold_ln1_split = true;
        write_case(dir, "fold", c, p, split, split, fold, tok, B, T);

        for (const char* name : {"folded", "folded_split"}) {
            const LNState& st = std::string(name) == "folded" ? s : split;
            export_hf_folded(dir + "/" + name, c, p.data(), st);
            write_ref(dir, name, c, p, st, tok, B, T);
        }
        write_model_file(dir + "/lnfree.bin", c, p.data(), 3, &split);
        LNState real(c.num_layers);
        write_model_file(dir + "/real.bin", c, p.data(), 3, &real);
        // GPT-2's vocabulary, so that noln_dla --text can feed it BPE tokens
        GPT2Config wide = evaltest::tiny_config(2, 16, 2, 50257, 32);
        LNState wide_ln = evaltest::frozen_state(wide.num_layers);
        write_model_file(dir + "/wide.bin", wide, evaltest::random_params(wide, 5, 3.0f).data(), 3, &wide_ln);

        LNState off = s;
        off.path(PATH_LN2, 1).sigma *= 1.02f;
        write_case(dir, "wrong", c, p, s, off, ExportOptions(), tok, B, T);
        printf("export_roundtrip: wrote %s/{plain,fold,wrong,folded,folded_split} and their .ref files, lnfree.bin, real.bin\n", dir.c_str());
        return 0;
    } catch (const Error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
