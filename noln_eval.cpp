// noln_eval: evaluate and export a checkpoint with the CPU model (docs/demo.md, used by
// scripts/demo.sh): the mean validation CE over val shards, the engine's logits of one
// batch for scripts/check_export.py, and the LN-free Hugging Face export.
//
// MODEL is a model .bin or a Hugging Face folder (an LN-free export loads FROZEN).
//   noln_eval val MODEL.bin VAL_GLOB B T MAX_BATCHES      prints the mean val CE
//   noln_eval ref MODEL.bin VAL_GLOB B T OUT.ref           logits of the first val batch
//   noln_eval export MODEL.bin DIR [fold]                  LN-free HF export
//   noln_eval export-folded MODEL.bin DIR                  exact folded export (docs/export.md)
//   noln_eval stats MODEL TOKENS_GLOB B T MAX_BATCHES      per-token loss statistics (eval table)
//   noln_eval hellaswag MODEL EVAL_FILE                    HellaSwag acc_norm (eval table)
// MODEL for stats and hellaswag may also be a Hugging Face GPT-2 folder; NOLN_GELU=erf in the
// environment evaluates them with the erf GELU (a --gelu erf run's model).
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "io/dataloader.h"
#include "host/error.h"
#include "eval/eval.h"
#include "eval/export_folded.h"
#include "eval/export_hf.h"
#include "eval/token_stats.h"
#include "io/hf_gpt2.h"
#include "io/model_file.h"

using namespace noln;

static int to_int(const char* s, const char* what) {
    char* end = nullptr;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v <= 0 || v > (1 << 30)) fail("noln_eval: %s must be a positive integer, got '%s'", what, s);
    return (int)v;
}

// One cell of scripts/eval_table.py's table, as one parsable line on stdout.
static int eval_table_cell(int argc, char** argv) {
    const std::string cmd = argv[1];
    const ModelFile f = read_any_model(argv[2]);
    GPT2CPU m(f);
    // the MLP's GELU of the run that made the model (--gelu; paper (a)'s preset uses erf)
    const std::string gelu = getenv("NOLN_GELU") ? getenv("NOLN_GELU") : "tanh";
    if (gelu != "tanh" && gelu != "erf") fail("NOLN_GELU: '%s' must be tanh or erf", gelu.c_str());
    m.set_gelu(gelu == "erf" ? Gelu::Erf : Gelu::Tanh);
    if (cmd == "stats") {
        const int B = to_int(argv[4], "B"), T = to_int(argv[5], "T");
        const int maxb = atoi(argv[6]);  // 0: all batches
        DataLoader val(argv[3], B, T, 0, 1, false, f.config.vocab_size);
        std::vector<float> tl = eval_token_losses(m, val, maxb);
        const LossStats s = loss_stats(tl, argv[3]);
        printf("tokens %ld mean %.6f median %.6f p95 %.6f p99.9 %.6f max %.6f\n", s.n, s.mean, s.median, s.p95,
               s.p999, s.max);
    } else {
        const HellaSwagResult r = eval_hellaswag(m, argv[3], 4, 0);
        printf("hellaswag n %d correct %d acc_norm %.6f\n", r.n, r.correct, r.acc_norm);
    }
    (void)argc;
    return 0;
}

static int usage() {
    fprintf(stderr,
            "usage: noln_eval val MODEL.bin VAL_GLOB B T MAX_BATCHES\n"
            "       noln_eval ref MODEL.bin VAL_GLOB B T OUT.ref\n"
            "       noln_eval export MODEL.bin DIR [fold]\n"
            "       noln_eval export-folded MODEL.bin DIR\n"
            "       noln_eval stats MODEL TOKENS_GLOB B T MAX_BATCHES\n"
            "       noln_eval hellaswag MODEL EVAL_FILE\n");
    return 2;
}

int main(int argc, char** argv) {
    try {
        if (argc < 3) return usage();
        std::string cmd = argv[1];
        if ((cmd == "stats" && argc == 7) || (cmd == "hellaswag" && argc == 4)) return eval_table_cell(argc, argv);
        ModelFile f = read_any_model(argv[2]);
        GPT2CPU m(f);
        if ((cmd == "val" || cmd == "ref") && argc == 7) {
            int B = to_int(argv[4], "B"), T = to_int(argv[5], "T");
            DataLoader val(argv[3], B, T, 0, 1, false, f.config.vocab_size);
            if (cmd == "val") {
                float ce = eval_val_loss(m, val, to_int(argv[6], "MAX_BATCHES"));
                printf("%.6f\n", ce);
            } else {
                val.next_batch();
                write_logits_ref(argv[6], m, val.inputs(), B, T);
                fprintf(stderr, "noln_eval: wrote %s (%dx%d tokens)\n", argv[6], B, T);
            }
            return 0;
        }
        if (cmd == "export" && (argc == 4 || (argc == 5 && std::string(argv[4]) == "fold"))) {
            ExportOptions o;
            o.fold_ln1_split = argc == 5;
            export_hf_lnfree(argv[3], f.config, f.params.data(), f.ln, o);
            fprintf(stderr, "noln_eval: exported %s to %s\n", argv[2], argv[3]);
            return 0;
        }
        if (cmd == "export-folded" && argc == 4) {
            export_hf_folded(argv[3], f.config, f.params.data(), f.ln);
            fprintf(stderr, "noln_eval: exported %s folded (no LayerNorm left) to %s\n", argv[2], argv[3]);
            return 0;
        }
        return usage();
    } catch (const Error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        fprintf(stderr, "out of memory: an allocation failed\n");
        return 1;
    }
}
