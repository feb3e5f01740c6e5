#include "eval/token_stats.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "host/error.h"
#include "io/dataloader.h"
#include "io/progress.h"

namespace noln {

double quantile_sorted(const std::vector<float>& s, double q) {
    if (s.empty()) fail("quantile of an empty set");
    const double pos = (double)(s.size() - 1) * q;
    const size_t lo = (size_t)std::floor(pos);
    const size_t hi = std::min(lo + 1, s.size() - 1);
    return (double)s[lo] + (pos - (double)lo) * ((double)s[hi] - (double)s[lo]);
}

LossStats loss_stats(std::vector<float>& losses, const std::string& where) {
    if (losses.empty()) fail("%s: no tokens to take statistics of", where.c_str());
    double sum = 0;
    for (float x : losses) {
        if (!std::isfinite(x)) fail("%s: a per-token loss is %f", where.c_str(), x);
        sum += x;
    }
    std::sort(losses.begin(), losses.end());
    LossStats st;
    st.n = (long)losses.size();
    st.mean = sum / (double)losses.size();
    st.median = quantile_sorted(losses, 0.5);
    st.p95 = quantile_sorted(losses, 0.95);
    st.p999 = quantile_sorted(losses, 0.999);
    st.max = losses.back();
    return st;
}

std::vector<float> eval_token_losses(Model& m, DataLoader& val, int max_batches) {
    long nb = (long)val.num_batches();
    if (max_batches > 0) nb = std::min<long>(nb, max_batches);
    if (nb <= 0) fail("eval_token_losses: the token set has no batch of %dx%d tokens", val.B(), val.T());
    val.reset();
    const size_t n = (size_t)val.B() * val.T();
    std::vector<float> out, tl(n);
    out.reserve(n * (size_t)nb);
    std::unique_ptr<Progress> bar;
    if (nb >= 100) bar.reset(new Progress("token losses", (uint64_t)nb, "batches"));
    for (long i = 0; i < nb; i++) {
        val.next_batch();
        m.forward(val.inputs(), val.targets(), val.B(), val.T());
        m.get_token_losses(tl.data());
        for (size_t j = 0; j < n; j++)
            if (val.targets()[j] >= 0) out.push_back(tl[j]);
        if (bar) bar->update((uint64_t)i + 1);
    }
    if (bar) bar->finish();
    return out;
}

}  // namespace noln
