// The GPT-2 forward/backward on the CPU, templated on the float type: GPT2Core<float> is
// the backend (GPT2CPU), GPT2Core<double> is what the whole-model finite-difference test
// differentiates. Both are instantiated in cpu/gpt2_core.cpp.
#pragma once
#include <cstddef>
#include <vector>

#include "host/gpt2_config.h"
#include "cpu/op_profile.h"
#include "host/gelu_kind.h"
#include "host/ln_paths.h"

namespace noln {

template <typename F>
struct GPT2Core {
    GPT2Config cfg;
    std::vector<F> params, grads;  // file order (host/gpt2_config.h), num_parameters(cfg)
    LNState ln;                    // LN path states (docs/method.md §1-2)
    F aux_lambda = 0;
    Gelu gelu = Gelu::Tanh;        // the MLP's GELU (--gelu)
    // Finite-difference tests only: >= 0 replaces the measured aux target S (a stopgrad).
    F aux_S_fixed = -1;
    SigmaObs obs;                  // of the last forward
    OpProfile* profile = nullptr;  // when set, forward/backward book each op's time there

    // Results of the last forward.
    int B = 0, T = 0;
    long ntargets = 0;
    F ce = 0, aux = 0;
    std::vector<int> inputs, targets;  // copies; targets empty when none were given
    std::vector<F> logits;             // B*T*Vp (columns >= V are computed but unused)
    std::vector<F> token_losses;       // B*T, 0 where masked

    explicit GPT2Core(const GPT2Config& c);
    F aux_target() const { return aux_S_; }  // S of the last forward's aux loss
    F* param(int t) { return params.data() + offs_[t]; }
    F* grad(int t) { return grads.data() + offs_[t]; }

    // Throws noln::Error if a token id is out of range or B*T does not fit the config.
    void forward(const int* in, const int* tg, int B, int T);
    // Accumulates d(scale * (ce + aux))/dparams into grads; needs a forward with targets.
    void backward(F scale);

    // Read-only views of the last forward's activations, for analysis tools (noln_dla,
    // eval/dla.h). Rows of C floats, one per token (b * T + t). att_out(l): layer l's
    // attention output before c_proj, head h in columns h*hs..(h+1)*hs-1; mlp_out(l): the
    // MLP's output with its c_proj bias; lnf_input(): the residual stream ln_f reads;
    // lnf_scale(): per token, the 1/divisor ln_f applied (1/sqrt(var + eps) on a REAL path).
    const F* att_out(int l) const { return atty.data() + (size_t)l * B * T * cfg.channels; }
    const F* mlp_out(int l) const { return fcproj.data() + (size_t)l * B * T * cfg.channels; }
    const F* lnf_input() const { return residual3.data() + (size_t)(cfg.num_layers - 1) * B * T * cfg.channels; }
    const F* lnf_scale() const { return lnf_rstd.data(); }

private:
    size_t offs_[NUM_PARAM_TENSORS];
    size_t acts_bt_ = 0;  // B*T the activations are sized for
    F aux_S_ = 0;         // the aux loss target S of the last forward
    bool backward_ready_ = false;
    // Activations, per layer arrays are stacked (l * B*T*...).
    std::vector<F> encoded, ln1, ln1v, ln1_mean, ln1_rstd, ln1v_rstd, qkv, atty, preatt, att,
        attproj, residual2, ln2, ln2_mean, ln2_rstd, fch, fch_gelu, fcproj, residual3, lnf,
        lnf_mean, lnf_rstd, probs, aux_sigma;
    void ensure_acts(int B, int T);
    // nullptr when path (k, layer) is REAL; when FROZEN, fills out (B*T) with each token's
    // 1/ln_frozen_divisor (host/ln_paths.h) and returns it.
    const F* frozen_rstd(F* out, PathKind k, int layer) const;
};

extern template struct GPT2Core<float>;
extern template struct GPT2Core<double>;

}  // namespace noln
