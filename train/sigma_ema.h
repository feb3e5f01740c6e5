// The running estimate of each LayerNorm site's sigma (docs/method.md §3), from which a path's
// frozen divisor is copied at its removal step.
//   sigma <- m*sigma + (1-m)*obs, once per micro-batch forward while the site is REAL,
//   the first observation initialising it.
// m = 1 keeps the first observation for ever: paper (a)'s constants measured once on the
// original model. One EMA per block serves both ln_1 paths (ln1qk, ln1v see the same
// input); it keeps updating until both of them are FROZEN, and each path freezes its own
// copy at its own step. The position-0 observations get the same treatment (sigma_bos).
#pragma once
#include <cstdint>
#include <vector>

#include "host/ln_state.h"

namespace noln {

struct SigmaEMA {
    float momentum = 0.9f;
    // per site: ln1[l], ln2[l], lnf; *_bos the position-0 estimates
    std::vector<float> ln1, ln2, ln1_bos, ln2_bos;
    float lnf = 0.0f, lnf_bos = 0.0f;
    std::vector<uint8_t> ln1_seen, ln2_seen;  // initialised by a first observation
    uint8_t lnf_seen = 0;

    SigmaEMA() = default;
    SigmaEMA(int num_layers, float m);
    int num_layers() const { return (int)ln1.size(); }

    // One micro-batch's observations; sites whose paths are all FROZEN in `ln` are skipped.
    void update(const SigmaObs& obs, const LNState& ln);
    // Initialises only the sites of the given paths that have never been observed (the
    // calibration forward for a path removed at step 1); seen sites are left alone.
    void calibrate(const SigmaObs& obs, const std::vector<std::pair<PathKind, int>>& paths);

    bool seen(PathKind k, int layer) const;
    float value(PathKind k, int layer) const;      // the current estimate for path (k, layer)
    float value_bos(PathKind k, int layer) const;  // its position-0 estimate
};

}  // namespace noln
