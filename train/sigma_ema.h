// The running estimate of each LayerNorm site's sigma (docs/method.md §3), from which a
// path's frozen divisor is copied at its removal step.
//   sigma <- m*sigma + (1-m)*obs, once per micro-batch forward while the site is observed,
//   the first observation initialising it.
// A site is observed while any path that normalises it is REAL (host/ln_paths.h). m = 1
// keeps the first observation for ever: paper (a)'s constants measured once on the
// original model. One EMA per block serves both ln_1 paths (ln1qk, ln1v see the same
// input); it keeps updating until both of them are FROZEN, and each path freezes its own
// copy at its own step. The position-0 observations get the same treatment (sigma_bos).
#pragma once
#include <cstdint>
#include <vector>

#include "host/ln_paths.h"

namespace noln {

struct SiteEMA {
    float sigma = 0.0f, sigma_bos = 0.0f;
    uint8_t seen = 0;  // initialised by a first observation
};

struct SigmaEMA {
    float momentum = 0.9f;
    std::vector<SiteEMA> sites;  // num_sites(L), in site order (host/ln_paths.h)

    SigmaEMA() = default;
    SigmaEMA(int num_layers, float m) : momentum(m), sites(num_sites(num_layers)), L_(num_layers) {}
    int num_layers() const { return L_; }

    // One micro-batch's observations; sites whose paths are all FROZEN in `ln` are skipped.
    void update(const SigmaObs& obs, const LNState& ln);
    // Initialises only the sites of the given paths that have never been observed (the
    // calibration forward for a path removed at step 1); seen sites are left alone.
    void calibrate(const SigmaObs& obs, const std::vector<PathId>& paths);

    // The estimate of the site path (k, layer) normalises.
    const SiteEMA& of(PathKind k, int layer) const { return at(PATH_KINDS[k].site, layer); }
    SiteEMA& at(SiteKind s, int layer = 0) { return sites.at(checked_site_index(s, layer, L_)); }
    const SiteEMA& at(SiteKind s, int layer = 0) const { return sites.at(checked_site_index(s, layer, L_)); }

private:
    int L_ = 0;
};

}  // namespace noln
