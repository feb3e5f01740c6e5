// A tiny stand-in backend for the loop's tests: a quadratic loss over a few hundred
// parameters, an exact AdamW, scripted sigma observations, and a record of what the loop
// asked for (LN states, learning rates, clip factors), so tests can check the loop's
// arithmetic against values worked out by hand.
#pragma once
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "host/model.h"
#include "train/train_loop.h"

namespace noln_test {
using namespace noln;

inline GPT2Config fake_config() {
    GPT2Config c;
    c.max_seq_len = 8;
    c.vocab_size = 8;
    c.padded_vocab_size = 8;
    c.num_layers = 2;
    c.num_heads = 1;
    c.channels = 4;
    return c;
}

class FakeModel : public Model {
public:
    GPT2Config cfg = fake_config();
    std::vector<float> p, g, m, v;
    LNState ln{2};
    SigmaObs obs{2};
    float lambda = 0;
    int forwards = 0;
    int nan_at_forward = -1;  // this forward (0-based) returns a NaN loss
    // observations per forward (index = forward count); empty: a formula of the params
    std::function<SigmaObs(int)> script;
    // records
    std::vector<LNState> ln_per_forward;
    std::vector<bool> forward_had_targets;
    std::vector<float> lrs, clip_scales, norms;
    std::vector<int> last_in;
    std::vector<int> last_tg;

    FakeModel() {
        p.resize(num_parameters());
        g.assign(p.size(), 0);
        m.assign(p.size(), 0);
        v.assign(p.size(), 0);
        for (size_t i = 0; i < p.size(); i++) p[i] = 0.01f * (float)((i * 37) % 17) - 0.05f;
    }
    const GPT2Config& config() const override { return cfg; }
    void get_parameters(float* out) const override { std::copy(p.begin(), p.end(), out); }
    void set_parameters(const float* in) override { std::copy(in, in + p.size(), p.begin()); }
    void set_ln_state(const LNState& s) override { ln = s; }
    void set_aux_lambda(float l) override { lambda = l; }
    Gelu gelu = Gelu::Tanh;
    void set_gelu(Gelu g) override { gelu = g; }
    float ln_factor() const {
        float f = 1;
        for (int k = 0; k < NUM_PATH_KINDS; k++)
            for (int l = 0; l < ln.paths_in((PathKind)k); l++)
                if (ln.path((PathKind)k, l).frozen) f += 0.01f * ln.path((PathKind)k, l).sigma;
        return f;
    }
    ForwardResult forward(const int* in, const int* tg, int B, int T) override {
        const int n = B * T;
        last_in.assign(in, in + n);
        last_tg = tg ? std::vector<int>(tg, tg + n) : std::vector<int>();
        ln_per_forward.push_back(ln);
        forward_had_targets.push_back(tg != nullptr);
        if (script) obs = script(forwards);
        else {
            for (int l = 0; l < 2; l++) {
                obs.at(SITE_LN1, l).sigma = 1 + 0.5f * l + std::fabs(p[l]) + 0.01f * in[0];
                obs.at(SITE_LN2, l).sigma = 2 + 0.5f * l + std::fabs(p[2 + l]) + 0.01f * in[1];
                obs.at(SITE_LN1, l).sigma_bos = obs.at(SITE_LN1, l).sigma * 0.5f;
                obs.at(SITE_LN2, l).sigma_bos = obs.at(SITE_LN2, l).sigma * 0.5f;
            }
            obs.at(SITE_LNF).sigma = 3 + std::fabs(p[4]);
            obs.at(SITE_LNF).sigma_bos = obs.at(SITE_LNF).sigma * 0.5f;
        }
        ForwardResult r;
        if (tg) {
            double s = 0;
            long cnt = 0;
            for (int i = 0; i < n; i++) {
                if (tg[i] < 0) continue;
                double d = p[(size_t)in[i] * 7 % p.size()] - 0.1 * tg[i];
                s += d * d;
                cnt++;
            }
            r.ce = cnt ? (float)(ln_factor() * s / cnt) : 0.0f;
            r.ntargets = cnt;
            r.aux = lambda * 0.5f;
            if (forwards == nan_at_forward) r.ce = NAN;
        }
        forwards++;
        return r;
    }
    const SigmaObs& sigma_obs() const override { return obs; }
    void get_token_losses(float*) const override {}
    void get_logits(float*) const override {}
    void zero_grad() override { std::fill(g.begin(), g.end(), 0.0f); }
    void backward(float scale) override {
        long cnt = 0;
        for (int t : last_tg) cnt += t >= 0;
        for (size_t i = 0; i < last_in.size(); i++) {
            if (last_tg[i] < 0) continue;
            size_t j = (size_t)last_in[i] * 7 % p.size();
            g[j] += scale * ln_factor() * 2 * (p[j] - 0.1f * last_tg[i]) / cnt;
        }
    }
    void get_gradients(float* out) const override { std::copy(g.begin(), g.end(), out); }
    float grad_norm() override {
        double s = 0;
        for (float x : g) s += (double)x * x;
        norms.push_back((float)std::sqrt(s));
        return norms.back();
    }
    void adamw_step(const AdamW& h, float scale, int t) override {
        lrs.push_back(h.lr);
        clip_scales.push_back(scale);
        for (size_t i = 0; i < p.size(); i++) {
            float gi = g[i] * scale;
            m[i] = h.beta1 * m[i] + (1 - h.beta1) * gi;
            v[i] = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
            float mh = m[i] / (1 - std::pow(h.beta1, t)), vh = v[i] / (1 - std::pow(h.beta2, t));
            p[i] -= h.lr * (mh / (std::sqrt(vh) + h.eps) + h.weight_decay * p[i]);
        }
    }
    void get_optimizer_state(float* mo, float* vo) const override {
        std::copy(m.begin(), m.end(), mo);
        std::copy(v.begin(), v.end(), vo);
    }
    void set_optimizer_state(const float* mi, const float* vi) override {
        std::copy(mi, mi + m.size(), m.begin());
        std::copy(vi, vi + v.size(), v.begin());
    }
};

// Batches from a counter: deterministic, and its state is the counter.
class FakeSource : public TokenSource {
public:
    int B, T;
    long counter = 0;
    FakeSource(int b, int t) : B(b), T(t) {}
    void next(int* in, int* tg) override {
        for (int i = 0; i < B * T; i++) {
            in[i] = (int)((counter * 5 + i * 3) % 8);
            tg[i] = (int)((counter + i) % 8);
        }
        counter++;
    }
    std::string save_state() const override { return std::to_string(counter); }
    void load_state(const std::string& s) override { counter = std::stol(s); }
};

}  // namespace noln_test
