// Direct logit attribution at the last position (eval/dla.h, docs/dla.md).
#include "eval/dla.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "host/error.h"

namespace noln {

namespace {

double mean_of(const std::vector<double>& x) {
    return std::accumulate(x.begin(), x.end(), 0.0) / (double)x.size();
}

// ln_f's output dotted with wte[token], for an input x (C), without beta: the scale is
// `scale` when given (> 0: FROZEN, or naive DLA), else this input's own 1/sqrt(var + eps).
double lnf_dot(const std::vector<double>& x, const std::vector<double>& u, double scale) {
    const double m = mean_of(x);
    if (scale <= 0) {
        double v = 0;
        for (double xi : x) v += (xi - m) * (xi - m);
        scale = 1.0 / std::sqrt(v / (double)x.size() + LN_EPS);
    }
    double d = 0;
    for (size_t i = 0; i < x.size(); i++) d += (x[i] - m) * u[i];
    return scale * d;
}

}  // namespace

std::vector<int> top_tokens(const GPT2Config& c, const DlaActs& a, int k) {
    const float* row = a.logits + (size_t)(a.T - 1) * c.padded_vocab_size;
    std::vector<int> ids(c.vocab_size);
    std::iota(ids.begin(), ids.end(), 0);
    k = std::max(0, std::min(k, c.vocab_size));
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                      [&](int x, int y) { return row[x] > row[y] || (row[x] == row[y] && x < y); });
    ids.resize(k);
    return ids;
}

DlaResult direct_logit_attribution(const GPT2Config& c, const float* params, const LNState& ln,
                                   const int* inputs, const DlaActs& a,
                                   const std::vector<int>& tokens) {
    const int C = c.channels, L = c.num_layers, NH = c.num_heads, hs = C / NH, T = a.T;
    if (T < 1 || (int)a.att_out.size() != L || (int)a.mlp_out.size() != L)
        fail("DLA: the activations (T=%d, %d layers) do not match the model (%d layers)", T,
             (int)a.att_out.size(), L);
    const size_t t = (size_t)T - 1;
    const float* wte = params + param_offset(c, P_WTE);
    const float* wpe = params + param_offset(c, P_WPE);
    const float* gf = params + param_offset(c, P_LNFW);
    const float* bf = params + param_offset(c, P_LNFB);

    // The components of ln_f's input at position T-1, each a C-vector in double.
    DlaResult r;
    std::vector<std::vector<double>> comp;
    auto add = [&](const std::string& name) -> std::vector<double>& {
        r.names.push_back(name);
        comp.emplace_back(C, 0.0);
        return comp.back();
    };
    {
        std::vector<double>& e = add("wte");
        for (int i = 0; i < C; i++) e[i] = wte[(size_t)inputs[t] * C + i];
        std::vector<double>& p = add("wpe");
        for (int i = 0; i < C; i++) p[i] = wpe[t * C + i];
    }
    for (int l = 0; l < L; l++) {
        const std::string pre = "L" + std::to_string(l) + ".";
        const float* Wo = params + param_offset(c, P_ATTPROJW) + (size_t)l * C * C;  // (C out, C in)
        const float* bo = params + param_offset(c, P_ATTPROJB) + (size_t)l * C;
        const float* y = a.att_out[l] + t * C;
        for (int h = 0; h < NH; h++) {
            std::vector<double>& o = add(pre + "H" + std::to_string(h));
            for (int oc = 0; oc < C; oc++) {
                double s = 0;
                for (int i = h * hs; i < (h + 1) * hs; i++) s += (double)Wo[(size_t)oc * C + i] * y[i];
                o[oc] = s;
            }
        }
        std::vector<double>& ab = add(pre + "attn_bias");
        for (int i = 0; i < C; i++) ab[i] = bo[i];
        const float* bp = params + param_offset(c, P_FCPROJB) + (size_t)l * C;
        const float* m = a.mlp_out[l] + t * C;
        std::vector<double>& mo = add(pre + "mlp");
        for (int i = 0; i < C; i++) mo[i] = (double)m[i] - bp[i];
        std::vector<double>& mb = add(pre + "mlp_bias");
        for (int i = 0; i < C; i++) mb[i] = bp[i];
    }

    const LNPathParams lp = ln_path_params(ln, path_index(PATH_LNF, 0, L));
    r.lnf_frozen = lp.frozen != 0;
    r.lnf_scale = a.lnf_scale[t];
    const float* row = a.logits + t * c.padded_vocab_size;
    for (int v = 0; v < c.vocab_size; v++) r.max_abs_logit = std::max(r.max_abs_logit, (double)std::fabs(row[v]));

    // The residual stream as the engine holds it (fp32), for the direct effects.
    std::vector<double> resid(C);
    for (int i = 0; i < C; i++) resid[i] = a.lnf_input[t * C + i];
    const double de_scale = r.lnf_frozen ? r.lnf_scale : 0.0;  // 0: recompute (REAL)
    double err = 0, mag = 0;
    for (int tok : tokens) {
        if (tok < 0 || tok >= c.vocab_size)
            fail("DLA: token %d is outside the vocabulary [0, %d)", tok, c.vocab_size);
        DlaLogit d;
        d.token = tok;
        d.logit = row[tok];
        std::vector<double> u(C);
        for (int i = 0; i < C; i++) {
            u[i] = (double)gf[i] * wte[(size_t)tok * C + i];
            d.beta_term += (double)bf[i] * wte[(size_t)tok * C + i];
        }
        const double full = lnf_dot(resid, u, de_scale);
        std::vector<double> without(C);
        d.sum = d.beta_term;
        for (const std::vector<double>& x : comp) {
            const double a_c = lnf_dot(x, u, r.lnf_scale);
            for (int i = 0; i < C; i++) without[i] = resid[i] - x[i];
            const double de = full - lnf_dot(without, u, de_scale);
            d.dla.push_back(a_c);
            d.direct.push_back(de);
            d.sum += a_c;
            err += std::fabs(a_c - de);
            mag += std::fabs(de);
        }
        r.logits.push_back(std::move(d));
    }
    r.nmae = mag > 0 ? err / mag : 0.0;
    return r;
}

}  // namespace noln
