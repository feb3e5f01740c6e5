// LN-free Hugging Face export: the eps trick of docs/method.md §7 (docs/export.md).
#include "eval/export_hf.h"

#include <cmath>
#include <cstring>

#include "host/error.h"
#include "io/file_io.h"
#include "io/hf_gpt2.h"

namespace noln {

void check_lnfree_exportable(const LNState& ln, const std::string& where, const ExportOptions& o) {
    if (!ln.all_frozen()) {
        std::string counts;  // "ln2 3/12, ln1qk 0/12, ln1v 0/12, lnf 0/1"
        for (int k = 0; k < NUM_PATH_KINDS; k++)
            counts += std::string(k ? ", " : "") + PATH_KINDS[k].name + " " +
                      std::to_string(ln.frozen_count((PathKind)k)) + "/" + std::to_string(ln.paths_in((PathKind)k));
        fail("%s: cannot export an LN-free model while LayerNorm paths are still REAL "
             "(frozen: %s); finish the removal schedule first", where.c_str(), counts.c_str());
    }
    if (ln.bos_special || ln.eot_special)
        fail("%s: cannot export while the %s special divisor is on (a Hugging Face LayerNorm "
             "has one scale for every position); export after the schedule switches it off",
             where.c_str(), ln.bos_special ? "BOS" : "EOT");
    for (int i = 0; i < (int)ln.paths.size(); i++) {
        const float s = ln.paths[i].sigma;
        if (!(std::isfinite(s) && s > 0))
            fail("%s: %s has frozen sigma %g (it must be finite and > 0)", where.c_str(),
                 path_label(path_at(i, ln.num_layers())).c_str(), s);
    }
    if (o.fold_ln1_split) return;
    for (int l = 0; l < ln.num_layers(); l++) {
        float a = ln.path(PATH_LN1QK, l).sigma, b = ln.path(PATH_LN1V, l).sigma;
        if (a != b)
            fail("%s: layer %d has ln1qk sigma %.9g but ln1v sigma %.9g; a Hugging Face block "
                 "has one ln_1 for Q, K and V, so it cannot hold two divisors (export with "
                 "fold_ln1_split to fold their ratio into the V weights; docs/export.md)",
                 where.c_str(), l, a, b);
    }
}

// gamma <- gamma * 1e6 / sigma, in double so the product rounds once.
static void scale_gamma(float* g, int n, float sigma) {
    for (int i = 0; i < n; i++) g[i] = (float)((double)g[i] * LNFREE_SCALE / (double)sigma);
}

std::vector<float> lnfree_hf_params(const GPT2Config& c, const float* params, const LNState& ln,
                                    const ExportOptions& o) {
    check_lnfree_exportable(ln, "LN-free export", o);
    if (ln.num_layers() != c.num_layers)
        fail("LN-free export: the LN state has %d layers, the model %d", ln.num_layers(),
             c.num_layers);
    std::vector<float> p(params, params + num_parameters(c));
    const size_t C = c.channels;
    for (int l = 0; l < c.num_layers; l++) {
        const float s_qk = ln.path(PATH_LN1QK, l).sigma, s_v = ln.path(PATH_LN1V, l).sigma;
        if (s_qk != s_v) {
            // HF's ln_1 gives x_qk = (x-mean)/s_qk*g + b; the V path wants
            // x_v = (x-mean)/s_v*g + b = r*(x_qk - b) + b with r = s_qk/s_v, so
            // W_v x_v + b_v = (r W_v) x_qk + b_v + (1-r) W_v b.
            const double r = (double)s_qk / (double)s_v;
            const float* beta = params + param_offset(c, P_LN1B) + l * C;
            float* W = p.data() + param_offset(c, P_QKVW) + (size_t)l * 3 * C * C;
            float* bias = p.data() + param_offset(c, P_QKVB) + (size_t)l * 3 * C;
            for (size_t row = 2 * C; row < 3 * C; row++) {
                double wb = 0;
                for (size_t i = 0; i < C; i++) wb += (double)W[row * C + i] * beta[i];
                bias[row] = (float)((double)bias[row] + (1.0 - r) * wb);
                for (size_t i = 0; i < C; i++) W[row * C + i] = (float)(r * W[row * C + i]);
            }
        }
        scale_gamma(p.data() + param_offset(c, P_LN1W) + l * C, (int)C, s_qk);
        scale_gamma(p.data() + param_offset(c, P_LN2W) + l * C, (int)C, ln.path(PATH_LN2, l).sigma);
    }
    scale_gamma(p.data() + param_offset(c, P_LNFW), (int)C, ln.path(PATH_LNF).sigma);
    return p;
}

void export_hf_lnfree(const std::string& dir, const GPT2Config& c, const float* params,
                      const LNState& ln, const ExportOptions& o) {
    std::vector<float> p = lnfree_hf_params(c, params, ln, o);
    // the divisors the written gammas hold: ln_1 carries ln1qk's (the V ratio is folded)
    LNState written = ln;
    for (int l = 0; l < c.num_layers; l++) written.path(PATH_LN1V, l) = written.path(PATH_LN1QK, l);
    write_hf_gpt2(dir, c, p.data(), LNFREE_EPS, &written);
}

void export_hf_lnfree(const std::string& dir, const GPT2Config& c, const float* params,
                      const LNState& ln) {
    export_hf_lnfree(dir, c, params, ln, ExportOptions());
}

void write_logits_ref(const std::string& path, Model& m, const int* tokens, int B, int T) {
    const int V = m.config().vocab_size;
    m.forward(tokens, nullptr, B, T);
    std::vector<float> logits((size_t)B * T * V);
    m.get_logits(logits.data());
    for (float x : logits)
        if (!std::isfinite(x)) fail("%s: the model produced a non-finite logit", path.c_str());
    int32_t head[4] = {LOGITS_REF_MAGIC, B, T, V};
    std::vector<int32_t> tok(tokens, tokens + (size_t)B * T);
    AtomicWriter w(path);
    w.write(head, sizeof head);
    w.write(tok.data(), tok.size() * sizeof(int32_t));
    w.write(logits.data(), logits.size() * sizeof(float));
    w.commit();
}

}  // namespace noln
