// noln::Model on top of GPT2Core<float>: optimizer state, gradient collectives, I/O of
// parameters.
#include "cpu/gpt2_cpu.h"

#include <cmath>
#include <cstring>

#include "cpu/adamw.h"
#include "cpu/global_norm.h"
#include "host/dist.h"
#include "host/error.h"
#include "io/model_file.h"

namespace noln {

GPT2CPU::GPT2CPU(const GPT2Config& c)
    : core_(c), m_(core_.params.size(), 0.0f), v_(core_.params.size(), 0.0f) {}

GPT2CPU::GPT2CPU(const ModelFile& f) : GPT2CPU(f.config) {
    if (f.params.size() != core_.params.size())
        fail("GPT2CPU: model file holds %zu parameters, its config needs %zu", f.params.size(),
             core_.params.size());
    set_parameters(f.params.data());
    if (f.has_ln_state) set_ln_state(f.ln);
}

void GPT2CPU::get_parameters(float* out) const {
    std::memcpy(out, core_.params.data(), core_.params.size() * sizeof(float));
}
void GPT2CPU::set_parameters(const float* in) {
    std::memcpy(core_.params.data(), in, core_.params.size() * sizeof(float));
}

void GPT2CPU::set_ln_state(const LNState& s) {
    if (s.num_layers() != core_.cfg.num_layers || (int)s.paths.size() != num_paths(s.num_layers()))
        fail("GPT2CPU: LN state has %d layers, the model %d", s.num_layers(), core_.cfg.num_layers);
    core_.ln = s;
}

void GPT2CPU::set_aux_lambda(float lambda) {
    if (!(lambda >= 0.0f)) fail("GPT2CPU: aux lambda %g must be >= 0", lambda);
    core_.aux_lambda = lambda;
}

ForwardResult GPT2CPU::forward(const int* inputs, const int* targets, int B, int T) {
    core_.forward(inputs, targets, B, T);
    ForwardResult r;
    r.ce = core_.ce;
    r.aux = core_.aux;
    r.ntargets = core_.ntargets;
    return r;
}

void GPT2CPU::get_token_losses(float* out) const {
    std::memcpy(out, core_.token_losses.data(), core_.token_losses.size() * sizeof(float));
}

void GPT2CPU::get_logits(float* out) const {
    const long N = (long)core_.B * core_.T;
    const int V = core_.cfg.vocab_size, Vp = core_.cfg.padded_vocab_size;
    for (long i = 0; i < N; i++)
        std::memcpy(out + i * V, core_.logits.data() + i * Vp, V * sizeof(float));
}

void GPT2CPU::zero_grad() { std::fill(core_.grads.begin(), core_.grads.end(), 0.0f); }
void GPT2CPU::backward(float scale) { core_.backward(scale); }

void GPT2CPU::get_gradients(float* out) const {
    std::memcpy(out, core_.grads.data(), core_.grads.size() * sizeof(float));
}

void GPT2CPU::allreduce_gradients() {
    if (dist().world > 1) dist_allreduce_sum(core_.grads.data(), core_.grads.size());
}

float GPT2CPU::grad_norm() {
    return (float)std::sqrt(global_norm_squared(core_.grads.data(), core_.grads.size()));
}

void GPT2CPU::adamw_step(const AdamW& h, float grad_scale, int t) {
    if (t < 1) fail("GPT2CPU: AdamW step t=%d must count from 1", t);
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(core_.cfg, sizes);
    // One parallel region for all 16 tensors: each thread takes its share of each in turn.
#pragma omp parallel
    {
        size_t off = 0;
        for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
            long lo, hi;
            thread_share((long)sizes[k], 16, &lo, &hi);
            if (hi > lo)
                adamw_span(core_.params.data() + off + lo, core_.grads.data() + off + lo,
                           m_.data() + off + lo, v_.data() + off + lo, hi - lo, h.lr, h.beta1,
                           h.beta2, h.eps, param_is_decayed(k) ? h.weight_decay : 0.0f,
                           grad_scale, t);
            off += sizes[k];
        }
    }
}

void GPT2CPU::get_optimizer_state(float* m, float* v) const {
    std::memcpy(m, m_.data(), m_.size() * sizeof(float));
    std::memcpy(v, v_.data(), v_.size() * sizeof(float));
}
void GPT2CPU::set_optimizer_state(const float* m, const float* v) {
    std::memcpy(m_.data(), m, m_.size() * sizeof(float));
    std::memcpy(v_.data(), v, v_.size() * sizeof(float));
}

}  // namespace noln
