// noln_dla: direct logit attribution at the last position of a text (docs/dla.md), on the
// CPU model. For the target logit (default: the model's top prediction) and the top-K logits
// it splits the logit into the direct contributions of the embeddings, every attention head,
// every MLP and every bias, checks that they sum to the logit, and compares each with the
// component's direct effect (naive DLA's error on a model whose ln_f is still REAL).
//
//   noln_dla MODEL.bin (--text TEXT | --tokens ID,ID,...) [--target TOKEN] [--top K]
//            [--show N] [--exact] [--json] [--tokenizer DIR]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "eval/dla.h"
#include "host/error.h"
#include "io/bpe.h"
#include "io/file_io.h"
#include "io/json.h"
#include "io/model_file.h"

using namespace noln;

// The check `sum of contributions - logit` fails above this, relative to max(1, max |logit|).
constexpr double SUM_TOL = 1e-4;

static int usage() {
    fprintf(stderr,
            "usage: noln_dla MODEL.bin (--text TEXT | --tokens ID,ID,...) [--target TOKEN] [--top K]\n"
            "                [--show N] [--exact] [--json] [--tokenizer DIR]\n"
            "  --text TEXT       the input, encoded with GPT-2's BPE (at most the model's context)\n"
            "  --tokens IDS      the input as comma-separated token ids instead\n"
            "  --target TOKEN    the logit to decompose: an id, or text that is one token (e.g. \" the\");\n"
            "                    default: the model's top prediction\n"
            "  --top K           also decompose the K largest logits (default 5)\n"
            "  --show N          print the N largest contributions to the target (default 12)\n"
            "  --exact           refuse unless ln_f is FROZEN (then DLA is exact)\n"
            "  --json            print the whole result as JSON instead of tables\n"
            "  --tokenizer DIR   encoder.json + vocab.bpe (default data/assets/gpt2)\n");
    return 2;
}

static int to_int(const std::string& s, const char* what, int lo) {
    char* end = nullptr;
    long v = strtol(s.c_str(), &end, 10);
    if (s.empty() || *end || v < lo || v > (1 << 30))
        fail("noln_dla: %s must be an integer >= %d, got '%s'", what, lo, s.c_str());
    return (int)v;
}

static bool all_digits(const std::string& s) {
    if (s.empty()) return false;
    for (char ch : s)
        if (ch < '0' || ch > '9') return false;
    return true;
}

int main(int argc, char** argv) {
    try {
        if (argc < 2 || argv[1][0] == '-') return usage();
        const std::string model_path = argv[1];
        std::string text, token_list, target_arg, tok_dir = "data/assets/gpt2";
        bool have_text = false, have_tokens = false, exact = false, json = false;
        int top = 5, show = 12;
        for (int i = 2; i < argc; i++) {
            const std::string a = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc) fail("noln_dla: %s needs a value", a.c_str());
                return argv[++i];
            };
            if (a == "--text") { text = value(); have_text = true; }
            else if (a == "--tokens") { token_list = value(); have_tokens = true; }
            else if (a == "--target") target_arg = value();
            else if (a == "--top") top = to_int(value(), "--top", 0);
            else if (a == "--show") show = to_int(value(), "--show", 0);
            else if (a == "--tokenizer") tok_dir = value();
            else if (a == "--exact") exact = true;
            else if (a == "--json") json = true;
            else { fprintf(stderr, "noln_dla: unknown argument '%s'\n", a.c_str()); return usage(); }
        }
        if (have_text == have_tokens) fail("noln_dla: give exactly one of --text and --tokens");
        if (have_text && text.empty()) fail("noln_dla: --text is empty: give at least one token of input");
        if (have_tokens && token_list.empty()) fail("noln_dla: --tokens is empty: give at least one token id");

        ModelFile f = read_model_file(model_path);
        const GPT2Config& c = f.config;
        if (exact && !f.ln.path(PATH_LNF).frozen)
            fail("noln_dla: %s: --exact asks for an exact decomposition, but this model's ln_f is "
                 "a REAL LayerNorm (it divides by each token's own std, so no sum of per-component "
                 "terms equals the logit's direct effects); use an LN-free model, or drop --exact "
                 "for naive DLA and its error", model_path.c_str());

        // The tokenizer: needed for --text and a text --target, used for display when present.
        std::unique_ptr<Bpe> bpe;
        const std::string enc = tok_dir + "/encoder.json", merges = tok_dir + "/vocab.bpe";
        const bool need_bpe = have_text || (!target_arg.empty() && !all_digits(target_arg));
        if (need_bpe || (file_exists(enc) && file_exists(merges))) bpe.reset(new Bpe(enc, merges));
        auto piece = [&](int id) -> std::string {
            return bpe && id < bpe->vocab_size() ? bpe->token_bytes(id) : "#" + std::to_string(id);
        };

        std::vector<int> tokens;
        if (have_text) {
            tokens = bpe->encode(text, true);
        } else {
            size_t s = 0;
            while (s <= token_list.size()) {
                size_t e = token_list.find(',', s);
                if (e == std::string::npos) e = token_list.size();
                tokens.push_back(to_int(token_list.substr(s, e - s), "each --tokens id", 0));
                s = e + 1;
            }
        }
        const int T = (int)tokens.size();
        if (T > c.max_seq_len)
            fail("noln_dla: the input is %d tokens, longer than the model's context of %d", T, c.max_seq_len);
        for (int id : tokens)
            if (id >= c.vocab_size) fail("noln_dla: token id %d is outside the model's vocabulary [0, %d)", id, c.vocab_size);

        GPT2CPU m(f);
        m.forward(tokens.data(), nullptr, 1, T);
        const DlaActs acts = dla_acts(m.core());

        std::vector<int> want;  // the target first, then the top K not already there
        std::vector<int> best = top_tokens(c, acts, std::max(top, 1));
        if (target_arg.empty()) want.push_back(best[0]);
        else if (all_digits(target_arg)) want.push_back(to_int(target_arg, "--target", 0));
        else {
            std::vector<int> ids = bpe->encode(target_arg, true);
            if (ids.size() != 1)
                fail("noln_dla: --target '%s' is %d tokens; give one token (or its id)",
                     target_arg.c_str(), (int)ids.size());
            want.push_back(ids[0]);
        }
        for (int i = 0; i < top && i < (int)best.size(); i++)
            if (best[i] != want[0]) want.push_back(best[i]);
        if (want.size() > (size_t)top + 1) want.resize(top + 1);
        const DlaResult r = direct_logit_attribution(c, m.params(), f.ln, tokens.data(), acts, want);

        const double scale = std::max(1.0, r.max_abs_logit);
        double worst = 0;
        for (const DlaLogit& d : r.logits) worst = std::max(worst, std::fabs(d.sum_error()));
        const bool ok = worst <= SUM_TOL * scale;
        int frozen = 0;
        for (int k = 0; k < NUM_PATH_KINDS; k++) frozen += f.ln.frozen_count((PathKind)k);

        if (json) {
            auto num = [](double x) {
                char b[40];
                snprintf(b, sizeof b, "%.9g", x);
                return std::string(b);
            };
            std::string j = "{\n  \"model\": " + json_quote(model_path) + ",\n  \"tokens\": [";
            for (int i = 0; i < T; i++) j += (i ? ", " : "") + std::to_string(tokens[i]);
            j += "],\n  \"paths_frozen\": " + std::to_string(frozen) + ", \"paths\": " + std::to_string(f.ln.paths.size());
            j += ",\n  \"lnf_frozen\": " + std::string(r.lnf_frozen ? "true" : "false");
            j += ", \"lnf_scale\": " + num(r.lnf_scale) + ", \"max_abs_logit\": " + num(r.max_abs_logit);
            j += ",\n  \"target\": " + std::to_string(want[0]);
            j += ", \"max_abs_sum_error\": " + num(worst) + ", \"sum_check\": " + (ok ? "\"OK\"" : "\"MISMATCH\"");
            j += ", \"nmae\": " + num(r.nmae) + ",\n  \"components\": [";
            for (size_t i = 0; i < r.names.size(); i++) j += (i ? ", " : "") + json_quote(r.names[i]);
            j += "],\n  \"logits\": [";
            for (size_t k = 0; k < r.logits.size(); k++) {
                const DlaLogit& d = r.logits[k];
                j += std::string(k ? "," : "") + "\n    {\"token\": " + std::to_string(d.token) +
                     ", \"text\": " + json_quote(piece(d.token)) + ", \"logit\": " + num(d.logit) +
                     ", \"sum\": " + num(d.sum) + ", \"sum_error\": " + num(d.sum_error()) +
                     ", \"lnf_bias\": " + num(d.beta_term) + ",\n     \"dla\": [";
                for (size_t i = 0; i < d.dla.size(); i++) j += (i ? ", " : "") + num(d.dla[i]);
                j += "],\n     \"direct_effect\": [";
                for (size_t i = 0; i < d.direct.size(); i++) j += (i ? ", " : "") + num(d.direct[i]);
                j += "]}";
            }
            j += "\n  ]\n}\n";
            fputs(j.c_str(), stdout);
            return ok ? 0 : 1;
        }

        printf("noln_dla: %s (L=%d C=%d heads=%d), %d tokens; LN paths frozen %d/%d; ln_f %s\n",
               model_path.c_str(), c.num_layers, c.channels, c.num_heads, T, frozen,
               (int)f.ln.paths.size(),
               r.lnf_frozen ? "FROZEN: DLA is exact" : "REAL: naive DLA (ln_f's scale frozen at this input's value)");
        const DlaLogit& tg = r.logits[0];
        printf("last token %s (id %d); target %s (id %d), logit %.6f\n", json_quote(piece(tokens[T - 1])).c_str(),
               tokens[T - 1], json_quote(piece(tg.token)).c_str(), tg.token, tg.logit);
        std::vector<size_t> order(r.names.size());
        for (size_t i = 0; i < order.size(); i++) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return std::fabs(tg.dla[a]) > std::fabs(tg.dla[b]); });
        printf("\nlargest direct contributions to the target logit (of %zu components):\n", order.size());
        printf("  %-16s %14s %14s\n", "component", "DLA", "direct effect");
        for (int i = 0; i < show && i < (int)order.size(); i++)
            printf("  %-16s %+14.6f %+14.6f\n", r.names[order[i]].c_str(), tg.dla[order[i]], tg.direct[order[i]]);
        printf("  %-16s %+14.6f\n", "ln_f bias", tg.beta_term);
        printf("\n  %-24s %12s %14s %12s\n", "logit", "value", "sum of terms", "sum - logit");
        for (const DlaLogit& d : r.logits)
            printf("  %-24s %12.6f %14.6f %+12.3e\n",
                   (json_quote(piece(d.token)) + " (" + std::to_string(d.token) + ")").c_str(), d.logit, d.sum,
                   d.sum_error());
        printf("\ncheck: max |sum of contributions - logit| = %.3e (%.3e of max |logit| %.4g): %s\n", worst,
               worst / scale, r.max_abs_logit, ok ? "OK" : "MISMATCH");
        printf("DLA vs direct effect: normalised mean absolute error %.4g%% (%zu components x %zu logits)%s\n",
               100.0 * r.nmae, r.names.size(), r.logits.size(),
               r.lnf_frozen ? ", exact up to rounding" : ", naive DLA's error on this input");
        return ok ? 0 : 1;
    } catch (const Error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
