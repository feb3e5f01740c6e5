// GPT-2 forward and backward, composed from the ops in cpu/*.h. One buffer per activation
// and layer (llm.c's layout); gradients of activations live in a few scratch buffers that
// are reused layer by layer on the way back.
#include "cpu/gpt2_core.h"

#include <algorithm>

#include "cpu/attention.h"
#include "cpu/aux_loss.h"
#include "cpu/crossentropy.h"
#include "cpu/encoder.h"
#include "cpu/gelu.h"
#include "cpu/layernorm.h"
#include "cpu/matmul.h"
#include "cpu/residual.h"
#include "cpu/unembedding.h"
#include "host/error.h"

namespace noln {

template <typename F>
GPT2Core<F>::GPT2Core(const GPT2Config& c) : cfg(c), ln(c.num_layers), obs(c.num_layers) {
    validate_config(c, "GPT2 CPU model");
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) offs_[t] = param_offset(c, t);
    params.assign(num_parameters(c), (F)0);
    grads.assign(params.size(), (F)0);
}

template <typename F>
void GPT2Core<F>::ensure_acts(int b, int t) {
    if (b == B && t == T && acts_bt_ == (size_t)b * t) return;
    const size_t N = (size_t)b * t, C = cfg.channels, L = cfg.num_layers, NH = cfg.num_heads,
                 Vp = cfg.padded_vocab_size;
    encoded.assign(N * C, 0);
    for (auto* v : {&ln1, &ln1v, &atty, &attproj, &residual2, &ln2, &fcproj, &residual3})
        v->assign(L * N * C, 0);
    for (auto* v : {&ln1_mean, &ln1_rstd, &ln1v_rstd, &ln2_mean, &ln2_rstd}) v->assign(L * N, 0);
    qkv.assign(L * N * 3 * C, 0);
    att.assign(L * b * NH * t * t, 0);
    fch.assign(L * N * 4 * C, 0);
    fch_gelu.assign(L * N * 4 * C, 0);
    lnf.assign(N * C, 0);
    for (auto* v : {&lnf_mean, &lnf_rstd, &aux_sigma, &token_losses}) v->assign(N, 0);
    logits.assign(N * Vp, 0);
    probs.assign(N * Vp, 0);
    B = b;
    T = t;
    acts_bt_ = N;
}

template <typename F>
const F* GPT2Core<F>::frozen_rstd(F* out, PathKind k, int layer) const {
    const LNPathParams p = ln_path_params(ln, path_index(k, layer, cfg.num_layers));
    if (!p.frozen) return nullptr;
    const long N = (long)B * T;
    for (long i = 0; i < N; i++) out[i] = (F)(1.0 / (double)ln_frozen_divisor(p, (int)(i % T), inputs[i]));
    return out;
}

// Mean over all tokens, and over position 0 only, of a per-token std.
template <typename F>
static void observe(SiteObs& o, const F* sd, int B, int T) {
    double a = 0, b0 = 0;
    for (long i = 0; i < (long)B * T; i++) {
        a += sd[i];
        if (i % T == 0) b0 += sd[i];
    }
    o.sigma = (float)(a / ((double)B * T));
    o.sigma_bos = (float)(b0 / B);
}

template <typename F>
void GPT2Core<F>::forward(const int* in, const int* tg, int b, int t) {
    const int C = cfg.channels, L = cfg.num_layers, NH = cfg.num_heads, V = cfg.vocab_size,
              Vp = cfg.padded_vocab_size;
    if (b <= 0 || t <= 0 || t > cfg.max_seq_len)
        fail("GPT2 CPU forward: B=%d T=%d invalid (need B >= 1, 1 <= T <= max_seq_len %d)", b, t,
             cfg.max_seq_len);
    if (ln.num_layers() != L || (int)ln.paths.size() != num_paths(L))
        fail("GPT2 CPU forward: LN state has %d layers, model %d", ln.num_layers(), L);
    const long N = (long)b * t;
    for (long i = 0; i < N; i++) {
        if (in[i] < 0 || in[i] >= V)
            fail("GPT2 CPU forward: input token %d at position %ld is outside [0, %d)", in[i], i, V);
        if (tg && tg[i] >= V)
            fail("GPT2 CPU forward: target token %d at position %ld is >= vocab size %d", tg[i], i, V);
    }
    ensure_acts(b, t);
    inputs.assign(in, in + N);
    if (tg) targets.assign(tg, tg + N); else targets.clear();

    std::vector<F> sd(N), fr(N), scratch_mean(N);
    OpLaps lap(profile);
    encoder_forward(encoded.data(), in, param(P_WTE), param(P_WPE), B, T, C);
    lap("encoder_fwd");
    for (int l = 0; l < L; l++) {
        const F* x = l == 0 ? encoded.data() : residual3.data() + (l - 1) * N * C;
        const F* ln1w = param(P_LN1W) + l * C;
        const F* ln1b = param(P_LN1B) + l * C;
        const F* qkvw = param(P_QKVW) + (long)l * 3 * C * C;
        const F* qkvb = param(P_QKVB) + l * 3 * C;
        F* l_ln1 = ln1.data() + l * N * C;
        F* l_qkv = qkv.data() + l * N * 3 * C;
        F* l_atty = atty.data() + l * N * C;
        F* l_attproj = attproj.data() + l * N * C;
        F* l_res2 = residual2.data() + l * N * C;
        F* l_ln2 = ln2.data() + l * N * C;
        F* l_fch = fch.data() + l * N * 4 * C;
        F* l_fchg = fch_gelu.data() + l * N * 4 * C;
        F* l_fcproj = fcproj.data() + l * N * C;
        F* l_res3 = residual3.data() + l * N * C;

        layernorm_stats((F*)nullptr, sd.data(), x, N, C);
        observe(obs.at(SITE_LN1, l), sd.data(), B, T);
        lap("ln_observe");
        layernorm_forward(l_ln1, ln1_mean.data() + l * N, ln1_rstd.data() + l * N, x, ln1w, ln1b,
                          N, C, frozen_rstd(fr.data(), PATH_LN1QK, l));
        if (ln.ln1_split(l)) {
            // Q and K from the ln1qk path, V from a second normalisation of the same input.
            F* l_ln1v = ln1v.data() + l * N * C;
            layernorm_forward(l_ln1v, scratch_mean.data(), ln1v_rstd.data() + l * N, x, ln1w, ln1b,
                              N, C, frozen_rstd(fr.data(), PATH_LN1V, l));
            lap("layernorm_fwd");
            matmul_forward(l_qkv, 3 * C, l_ln1, qkvw, qkvb, N, C, 2 * C);
            matmul_forward(l_qkv + 2 * C, 3 * C, l_ln1v, qkvw + 2L * C * C, qkvb + 2 * C, N, C, C);
        } else {
            lap("layernorm_fwd");
            matmul_forward(l_qkv, 3 * C, l_ln1, qkvw, qkvb, N, C, 3 * C);
        }
        lap("matmul_fwd");
        attention_forward(l_atty, att.data() + (long)l * B * NH * T * T, l_qkv, B, T, C, NH);
        lap("attention_fwd");
        matmul_forward(l_attproj, C, l_atty, param(P_ATTPROJW) + (long)l * C * C,
                       param(P_ATTPROJB) + l * C, N, C, C);
        lap("matmul_fwd");
        residual_forward(l_res2, x, l_attproj, N * C);
        lap("residual_fwd");

        layernorm_stats((F*)nullptr, sd.data(), l_res2, N, C);
        observe(obs.at(SITE_LN2, l), sd.data(), B, T);
        lap("ln_observe");
        layernorm_forward(l_ln2, ln2_mean.data() + l * N, ln2_rstd.data() + l * N, l_res2,
                          param(P_LN2W) + l * C, param(P_LN2B) + l * C, N, C,
                          frozen_rstd(fr.data(), PATH_LN2, l));
        lap("layernorm_fwd");
        matmul_forward(l_fch, 4 * C, l_ln2, param(P_FCW) + (long)l * 4 * C * C,
                       param(P_FCB) + l * 4 * C, N, C, 4 * C);
        lap("matmul_fwd");
        gelu_forward(l_fchg, l_fch, N * 4 * C, gelu);
        lap("gelu_fwd");
        matmul_forward(l_fcproj, C, l_fchg, param(P_FCPROJW) + (long)l * 4 * C * C,
                       param(P_FCPROJB) + l * C, N, 4 * C, C);
        lap("matmul_fwd");
        residual_forward(l_res3, l_res2, l_fcproj, N * C);
        lap("residual_fwd");
    }
    const F* h = residual3.data() + (L - 1) * N * C;
    layernorm_stats((F*)nullptr, sd.data(), h, N, C);
    observe(obs.at(SITE_LNF), sd.data(), B, T);
    lap("ln_observe");
    layernorm_forward(lnf.data(), lnf_mean.data(), lnf_rstd.data(), h, param(P_LNFW), param(P_LNFB),
                      N, C, frozen_rstd(fr.data(), PATH_LNF, 0));
    lap("layernorm_fwd");
    unembedding_forward(logits.data(), lnf.data(), param(P_WTE), N, C, Vp);
    lap("unembedding_fwd");
    ntargets = softmax_crossentropy_forward(probs.data(), token_losses.data(), logits.data(), tg, N,
                                            V, Vp);
    lap("crossentropy_fwd");
    double s = 0;
    for (long i = 0; i < N; i++) s += token_losses[i];
    ce = ntargets ? (F)(s / ntargets) : (F)0;
    aux = 0;
    if (aux_lambda > 0)
        aux = aux_loss_forward(aux_sigma.data(), &aux_S_, h, in, B, T, C, ln.eot_token, aux_lambda,
                               aux_S_fixed >= 0 ? &aux_S_fixed : nullptr);
    lap("aux_loss_fwd");
    backward_ready_ = tg != nullptr;
}

template <typename F>
void GPT2Core<F>::backward(F scale) {
    if (!backward_ready_)
        fail("GPT2 CPU backward: needs a forward with targets first (and only one backward per forward)");
    backward_ready_ = false;
    const int C = cfg.channels, L = cfg.num_layers, NH = cfg.num_heads, V = cfg.vocab_size,
              Vp = cfg.padded_vocab_size;
    const long N = (long)B * T;
    std::vector<F> dres(N * C, 0), dln(N * C), dlnv(N * C), dqkv(N * 3 * C), datty(N * C),
        dfch(N * 4 * C), dfchg(N * 4 * C);
    auto zero = [](std::vector<F>& v) { std::fill(v.begin(), v.end(), (F)0); };
    OpLaps lap(profile);
    lap("scratch_bwd");

    // probs becomes dlogits: the backward is the last use of the probabilities.
    F* dlogits = probs.data();
    softmax_crossentropy_backward(dlogits, probs.data(), targets.data(),
                                  ntargets ? (F)(scale / ntargets) : (F)0, N, V, Vp);
    lap("crossentropy_bwd");
    zero(dln);
    unembedding_backward(dln.data(), grad(P_WTE), dlogits, lnf.data(), param(P_WTE), N, C, Vp);
    lap("unembedding_bwd");
    const F* h = residual3.data() + (L - 1) * N * C;
    layernorm_backward(dres.data(), grad(P_LNFW), grad(P_LNFB), dln.data(), h, param(P_LNFW),
                       lnf_mean.data(), lnf_rstd.data(), N, C, ln.path(PATH_LNF).frozen);
    lap("layernorm_bwd");
    if (aux_lambda > 0)
        aux_loss_backward(dres.data(), h, aux_sigma.data(), aux_S_, (F)(scale * aux_lambda), B, T, C);
    lap("aux_loss_bwd");

    for (int l = L - 1; l >= 0; l--) {
        const F* x = l == 0 ? encoded.data() : residual3.data() + (l - 1) * N * C;
        const F* qkvw = param(P_QKVW) + (long)l * 3 * C * C;
        F* dqkvw = grad(P_QKVW) + (long)l * 3 * C * C;
        F* dqkvb = grad(P_QKVB) + l * 3 * C;
        const F* l_res2 = residual2.data() + l * N * C;
        const F* l_qkv = qkv.data() + l * N * 3 * C;

        // MLP branch: dres holds d(residual3), which is also d(fcproj).
        zero(dfchg);
        matmul_backward(dfchg.data(), grad(P_FCPROJW) + (long)l * 4 * C * C,
                        grad(P_FCPROJB) + l * C, dres.data(), C,
                        fch_gelu.data() + l * N * 4 * C, param(P_FCPROJW) + (long)l * 4 * C * C,
                        N, 4 * C, C);
        lap("matmul_bwd");
        zero(dfch);
        gelu_backward(dfch.data(), fch.data() + l * N * 4 * C, dfchg.data(), N * 4 * C, gelu);
        lap("gelu_bwd");
        zero(dln);
        matmul_backward(dln.data(), grad(P_FCW) + (long)l * 4 * C * C, grad(P_FCB) + l * 4 * C,
                        dfch.data(), 4 * C, ln2.data() + l * N * C,
                        param(P_FCW) + (long)l * 4 * C * C, N, C, 4 * C);
        lap("matmul_bwd");
        layernorm_backward(dres.data(), grad(P_LN2W) + l * C, grad(P_LN2B) + l * C, dln.data(),
                           l_res2, param(P_LN2W) + l * C, ln2_mean.data() + l * N,
                           ln2_rstd.data() + l * N, N, C, ln.path(PATH_LN2, l).frozen);
        lap("layernorm_bwd");

        // Attention branch: dres now holds d(residual2), which is also d(attproj).
        zero(datty);
        matmul_backward(datty.data(), grad(P_ATTPROJW) + (long)l * C * C, grad(P_ATTPROJB) + l * C,
                        dres.data(), C, atty.data() + l * N * C,
                        param(P_ATTPROJW) + (long)l * C * C, N, C, C);
        lap("matmul_bwd");
        zero(dqkv);
        attention_backward(dqkv.data(), datty.data(), l_qkv, att.data() + (long)l * B * NH * T * T,
                           B, T, C, NH);
        lap("attention_bwd");
        const F* ln1w = param(P_LN1W) + l * C;
        F* dln1w = grad(P_LN1W) + l * C;
        F* dln1b = grad(P_LN1B) + l * C;
        zero(dln);
        if (ln.ln1_split(l)) {
            matmul_backward(dln.data(), dqkvw, dqkvb, dqkv.data(), 3 * C, ln1.data() + l * N * C,
                            qkvw, N, C, 2 * C);
            zero(dlnv);
            matmul_backward(dlnv.data(), dqkvw + 2L * C * C, dqkvb + 2 * C, dqkv.data() + 2 * C,
                            3 * C, ln1v.data() + l * N * C, qkvw + 2L * C * C, N, C, C);
            lap("matmul_bwd");
            // both normalisations share gamma/beta and the input: their gradients add up
            layernorm_backward(dres.data(), dln1w, dln1b, dln.data(), x, ln1w,
                               ln1_mean.data() + l * N, ln1_rstd.data() + l * N, N, C,
                               ln.path(PATH_LN1QK, l).frozen);
            layernorm_backward(dres.data(), dln1w, dln1b, dlnv.data(), x, ln1w,
                               ln1_mean.data() + l * N, ln1v_rstd.data() + l * N, N, C,
                               ln.path(PATH_LN1V, l).frozen);
        } else {
            matmul_backward(dln.data(), dqkvw, dqkvb, dqkv.data(), 3 * C, ln1.data() + l * N * C,
                            qkvw, N, C, 3 * C);
            lap("matmul_bwd");
            layernorm_backward(dres.data(), dln1w, dln1b, dln.data(), x, ln1w,
                               ln1_mean.data() + l * N, ln1_rstd.data() + l * N, N, C,
                               ln.path(PATH_LN1QK, l).frozen);
        }
        lap("layernorm_bwd");
        // dres now holds d(x), the input of block l.
    }
    encoder_backward(grad(P_WTE), grad(P_WPE), dres.data(), inputs.data(), B, T, C);
    lap("encoder_bwd");
}

template struct GPT2Core<float>;
template struct GPT2Core<double>;

}  // namespace noln
