#include "train/sigma_ema.h"

namespace noln {

static void ema_step(SiteEMA& e, const SiteObs& o, float m) {
    if (!e.seen) {
        e.sigma = o.sigma;
        e.sigma_bos = o.sigma_bos;
        e.seen = 1;
        return;
    }
    e.sigma = m * e.sigma + (1.0f - m) * o.sigma;
    e.sigma_bos = m * e.sigma_bos + (1.0f - m) * o.sigma_bos;
}

void SigmaEMA::update(const SigmaObs& obs, const LNState& ln) {
    std::vector<uint8_t> observed(sites.size(), 0);
    for (int i = 0; i < (int)ln.paths.size(); i++)
        if (!ln.paths[i].frozen) {
            const PathId p = path_at(i, L_);
            observed.at(site_of(p.kind, p.layer, L_)) = 1;
        }
    for (size_t s = 0; s < sites.size(); s++)
        if (observed[s]) ema_step(sites[s], obs.sites.at(s), momentum);
}

void SigmaEMA::calibrate(const SigmaObs& obs, const std::vector<PathId>& paths) {
    for (const PathId& p : paths) {
        const int s = site_of(p.kind, p.layer, L_);
        if (!sites.at(s).seen) ema_step(sites[s], obs.sites.at(s), momentum);
    }
}

}  // namespace noln
