// The exact folded export (eval/export_folded.h, docs/export.md). Every folded value is
// computed in double and rounded to fp32 once.
#include "eval/export_folded.h"

#include "eval/export_hf.h"
#include "host/error.h"
#include "io/hf_gpt2.h"

namespace noln {

void check_foldable(const LNState& ln, const std::string& where) {
    ExportOptions o;
    o.fold_ln1_split = true;  // the split ln_1 folds into c_attn's column blocks
    check_lnfree_exportable(ln, where, o);
}

namespace {

// W (rows x cols, row-major, our (OUT, IN) layout) writes to the residual stream through
// its rows: subtract from each column its mean over the rows (W <- P W), and centre b.
void centre_writer(float* W, float* b, size_t rows, size_t cols) {
    for (size_t i = 0; i < cols; i++) {
        double m = 0;
        for (size_t o = 0; o < rows; o++) m += W[o * cols + i];
        m /= (double)rows;
        for (size_t o = 0; o < rows; o++) W[o * cols + i] = (float)(W[o * cols + i] - m);
    }
    if (!b) return;
    double m = 0;
    for (size_t o = 0; o < rows; o++) m += b[o];
    m /= (double)rows;
    for (size_t o = 0; o < rows; o++) b[o] = (float)(b[o] - m);
}

// Each row (a C-vector written to the stream: an embedding) centred.
void centre_rows(float* E, size_t rows, size_t C) {
    for (size_t r = 0; r < rows; r++) {
        double m = 0;
        for (size_t i = 0; i < C; i++) m += E[r * C + i];
        m /= (double)C;
        for (size_t i = 0; i < C; i++) E[r * C + i] = (float)(E[r * C + i] - m);
    }
}

// A reader y = W (x*g/s + beta) + b of a frozen LN's output, rows [r0, r1) of W (OUT, C):
// W <- W diag(g/s), b <- b + W beta (with the original W).
void fold_reader(float* W, float* b, size_t r0, size_t r1, size_t C, const float* g,
                 const float* beta, double s) {
    for (size_t o = r0; o < r1; o++) {
        double wb = 0;
        for (size_t i = 0; i < C; i++) {
            wb += (double)W[o * C + i] * beta[i];
            W[o * C + i] = (float)((double)W[o * C + i] * g[i] / s);
        }
        b[o] = (float)((double)b[o] + wb);
    }
}

}  // namespace

FoldedModel fold_lnfree(const GPT2Config& c, const float* params, const LNState& ln) {
    check_foldable(ln, "folded export");
    if (ln.num_layers() != c.num_layers)
        fail("folded export: the LN state has %d layers, the model %d", ln.num_layers(), c.num_layers);
    FoldedModel f;
    f.params.assign(params, params + num_parameters(c));
    float* p = f.params.data();
    const size_t C = c.channels, V = c.vocab_size;
    auto at = [&](int t) { return p + param_offset(c, t); };

    centre_rows(at(P_WTE), c.padded_vocab_size, C);
    centre_rows(at(P_WPE), c.max_seq_len, C);
    for (int l = 0; l < c.num_layers; l++) {
        const float* g1 = params + param_offset(c, P_LN1W) + l * C;
        const float* b1 = params + param_offset(c, P_LN1B) + l * C;
        float* qkvw = at(P_QKVW) + (size_t)l * 3 * C * C;
        float* qkvb = at(P_QKVB) + (size_t)l * 3 * C;
        fold_reader(qkvw, qkvb, 0, 2 * C, C, g1, b1, ln.path(PATH_LN1QK, l).sigma);
        fold_reader(qkvw, qkvb, 2 * C, 3 * C, C, g1, b1, ln.path(PATH_LN1V, l).sigma);
        centre_writer(at(P_ATTPROJW) + (size_t)l * C * C, at(P_ATTPROJB) + l * C, C, C);
        fold_reader(at(P_FCW) + (size_t)l * 4 * C * C, at(P_FCB) + (size_t)l * 4 * C, 0, 4 * C, C,
                    params + param_offset(c, P_LN2W) + l * C,
                    params + param_offset(c, P_LN2B) + l * C, ln.path(PATH_LN2, l).sigma);
        centre_writer(at(P_FCPROJW) + (size_t)l * 4 * C * C, at(P_FCPROJB) + l * C, C, 4 * C);
    }
    // What stays of each LN: the identity for HF's module on a mean-free stream.
    for (int t : {P_LN1W, P_LN2W, P_LNFW}) {
        float* g = at(t);
        for (size_t i = 0, n = (t == P_LNFW ? 1 : c.num_layers) * C; i < n; i++) g[i] = (float)LNFREE_SCALE;
    }
    for (int t : {P_LN1B, P_LN2B}) {
        float* b = at(t);
        for (size_t i = 0; i < (size_t)c.num_layers * C; i++) b[i] = 0.0f;
    }
    for (size_t i = 0; i < C; i++) at(P_LNFB)[i] = 1.0f;

    // lm_head[v] = P(wte[v] * g_f / s_f) + (b_f . wte[v]) / C: applied to x + 1 (ln_f's
    // output, x mean-free) it gives x . (wte[v] * g_f/s_f) + b_f . wte[v], our logit.
    const float* wte = params + param_offset(c, P_WTE);
    const float* gf = params + param_offset(c, P_LNFW);
    const float* bf = params + param_offset(c, P_LNFB);
    const double sf = ln.path(PATH_LNF).sigma;
    f.lm_head.resize(V * C);
    std::vector<double> row(C);
    for (size_t v = 0; v < V; v++) {
        double m = 0, beta = 0;
        for (size_t i = 0; i < C; i++) {
            row[i] = (double)wte[v * C + i] * gf[i] / sf;
            m += row[i];
            beta += (double)bf[i] * wte[v * C + i];
        }
        m /= (double)C;
        for (size_t i = 0; i < C; i++) f.lm_head[v * C + i] = (float)(row[i] - m + beta / (double)C);
    }
    return f;
}

void export_hf_folded(const std::string& dir, const GPT2Config& c, const float* params,
                      const LNState& ln) {
    FoldedModel f = fold_lnfree(c, params, ln);
    HFWriteExtras x;
    x.lm_head = f.lm_head.data();
    x.config_members = {"\"noln_folded\": true"};
    write_hf_gpt2(dir, c, f.params.data(), LNFREE_EPS, x);
}

}  // namespace noln
