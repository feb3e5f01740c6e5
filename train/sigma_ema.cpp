#include "train/sigma_ema.h"

namespace noln {

SigmaEMA::SigmaEMA(int L, float m)
    : momentum(m), ln1(L), ln2(L), ln1_bos(L), ln2_bos(L), ln1_seen(L), ln2_seen(L) {}

static void ema_step(float& s, float& s_bos, uint8_t& seen, float obs, float obs_bos, float m) {
    if (!seen) {
        s = obs;
        s_bos = obs_bos;
        seen = 1;
        return;
    }
    s = m * s + (1.0f - m) * obs;
    s_bos = m * s_bos + (1.0f - m) * obs_bos;
}

void SigmaEMA::update(const SigmaObs& obs, const LNState& ln) {
    const float m = momentum;
    for (int l = 0; l < num_layers(); l++) {
        if (!(ln.ln1qk[l].frozen && ln.ln1v[l].frozen))
            ema_step(ln1[l], ln1_bos[l], ln1_seen[l], obs.ln1[l], obs.ln1_bos[l], m);
        if (!ln.ln2[l].frozen) ema_step(ln2[l], ln2_bos[l], ln2_seen[l], obs.ln2[l], obs.ln2_bos[l], m);
    }
    if (!ln.lnf.frozen) ema_step(lnf, lnf_bos, lnf_seen, obs.lnf, obs.lnf_bos, m);
}

void SigmaEMA::calibrate(const SigmaObs& obs, const std::vector<std::pair<PathKind, int>>& paths) {
    for (auto [k, l] : paths) {
        if (seen(k, l)) continue;
        switch (k) {
            case PATH_LN2: ema_step(ln2[l], ln2_bos[l], ln2_seen[l], obs.ln2[l], obs.ln2_bos[l], momentum); break;
            case PATH_LN1QK:
            case PATH_LN1V: ema_step(ln1[l], ln1_bos[l], ln1_seen[l], obs.ln1[l], obs.ln1_bos[l], momentum); break;
            default: ema_step(lnf, lnf_bos, lnf_seen, obs.lnf, obs.lnf_bos, momentum); break;
        }
    }
}

bool SigmaEMA::seen(PathKind k, int l) const {
    switch (k) {
        case PATH_LN2: return ln2_seen.at(l);
        case PATH_LN1QK:
        case PATH_LN1V: return ln1_seen.at(l);
        default: return lnf_seen;
    }
}

float SigmaEMA::value(PathKind k, int l) const {
    switch (k) {
        case PATH_LN2: return ln2.at(l);
        case PATH_LN1QK:
        case PATH_LN1V: return ln1.at(l);
        default: return lnf;
    }
}

float SigmaEMA::value_bos(PathKind k, int l) const {
    switch (k) {
        case PATH_LN2: return ln2_bos.at(l);
        case PATH_LN1QK:
        case PATH_LN1V: return ln1_bos.at(l);
        default: return lnf_bos;
    }
}

}  // namespace noln
