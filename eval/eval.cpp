// Forward-only evaluations: validation cross-entropy and HellaSwag acc_norm (eval/eval.h).
#include "eval/eval.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "io/dataloader.h"
#include "host/dist.h"
#include "host/error.h"
#include "io/eval_file.h"
#include "io/progress.h"

namespace noln {

// Evals with at least this many forwards show a progress bar (rank 0 only); the short
// periodic evals of a training run stay quiet.
static const int PROGRESS_MIN_FORWARDS = 100;

float eval_val_loss(Model& m, DataLoader& val, int max_batches) {
    long nb = (long)val.num_batches();
    if (max_batches > 0) nb = std::min<long>(nb, max_batches);
    if (nb <= 0) fail("eval_val_loss: the validation set has no batch of %dx%d tokens", val.B(), val.T());
    val.reset();
    bool show = dist().rank == 0 && nb >= PROGRESS_MIN_FORWARDS;
    std::unique_ptr<Progress> bar;
    if (show) bar.reset(new Progress("val loss", (uint64_t)nb, "batches"));
    // token-weighted, so masked targets do not tilt the mean
    double sum[2] = {0.0, 0.0};  // sum of ce * ntargets, sum of ntargets
    for (long i = 0; i < nb; i++) {
        val.next_batch();
        ForwardResult r = m.forward(val.inputs(), val.targets(), val.B(), val.T());
        sum[0] += (double)r.ce * (double)r.ntargets;
        sum[1] += (double)r.ntargets;
        if (bar) bar->update((uint64_t)i + 1);
    }
    if (bar) bar->finish();
    dist_allreduce_sum(sum, 2);
    if (sum[1] <= 0) fail("eval_val_loss: every validation target was masked");
    float loss = (float)(sum[0] / sum[1]);
    if (!std::isfinite(loss)) fail("eval_val_loss: validation loss is %f", loss);
    return loss;
}

// Scores this rank's share of the examples (i % world == rank); counts summed over ranks.
static HellaSwagResult score_hellaswag(Model& m, const std::vector<EvalExample>& ex,
                                       const std::string& path, int B, int T) {
    const GPT2Config& c = m.config();
    if (B < 4) fail("%s: HellaSwag needs a batch of at least 4 rows (one per completion), got B=%d", path.c_str(), B);
    int Tf = 1;
    for (size_t i = 0; i < ex.size(); i++) {
        const EvalExample& e = ex[i];
        if (e.completions.size() != 4)
            fail("%s: example %zu has %zu completions (expected 4)", path.c_str(), i, e.completions.size());
        if (e.context.empty()) fail("%s: example %zu has an empty context", path.c_str(), i);
        if (e.label < 0 || e.label >= 4) fail("%s: example %zu has label %d (expected 0..3)", path.c_str(), i, e.label);
        for (const auto& end : e.completions) {
            if (end.empty()) fail("%s: example %zu has an empty completion", path.c_str(), i);
            Tf = std::max(Tf, (int)(e.context.size() + end.size()));
            for (int t : end)
                if (t < 0 || t >= c.vocab_size) fail("%s: example %zu has token %d >= vocab %d", path.c_str(), i, t, c.vocab_size);
        }
        for (int t : e.context)
            if (t < 0 || t >= c.vocab_size) fail("%s: example %zu has token %d >= vocab %d", path.c_str(), i, t, c.vocab_size);
    }
    if (Tf > c.max_seq_len)
        fail("%s: the longest example has %d tokens, more than the model's max_seq_len %d", path.c_str(), Tf, c.max_seq_len);
    if (T > 0 && Tf > T)
        fail("%s: the longest example has %d tokens, more than T=%d", path.c_str(), Tf, T);

    const Dist& d = dist();
    std::vector<int> mine;
    for (size_t i = d.rank; i < ex.size(); i += d.world) mine.push_back((int)i);
    const int per = B / 4;  // examples per forward
    std::vector<int> in((size_t)per * 4 * Tf), tg(in.size());
    std::vector<float> losses(in.size());
    std::unique_ptr<Progress> bar;
    if (d.rank == 0 && mine.size() >= 2 * (size_t)PROGRESS_MIN_FORWARDS)
        bar.reset(new Progress("hellaswag", mine.size(), "ex"));
    double counts[2] = {0, 0};  // examples, correct
    for (size_t first = 0; first < mine.size(); first += per) {
        const int nb = (int)std::min<size_t>(per, mine.size() - first), rows = 4 * nb;
        // padding is token 0 with no target: causal attention keeps it out of every scored position
        std::fill(in.begin(), in.end(), 0);
        std::fill(tg.begin(), tg.end(), -1);
        for (int e = 0; e < nb; e++) {
            const EvalExample& x = ex[mine[first + e]];
            const int nc = (int)x.context.size();
            for (int k = 0; k < 4; k++) {
                int* row = &in[(size_t)(4 * e + k) * Tf];
                int* trow = &tg[(size_t)(4 * e + k) * Tf];
                const auto& end = x.completions[k];
                std::copy(x.context.begin(), x.context.end(), row);
                std::copy(end.begin(), end.end(), row + nc);
                // position p predicts token p+1: the completion's tokens are the targets of
                // positions nc-1 .. nc+len-2
                for (size_t j = 0; j < end.size(); j++) trow[nc - 1 + j] = end[j];
            }
        }
        m.forward(in.data(), tg.data(), rows, Tf);
        m.get_token_losses(losses.data());
        for (int e = 0; e < nb; e++) {
            const EvalExample& x = ex[mine[first + e]];
            const int nc = (int)x.context.size();
            int pred = 0;
            double best = 0;
            for (int k = 0; k < 4; k++) {
                const float* lrow = &losses[(size_t)(4 * e + k) * Tf];
                double sum = 0;
                const int len = (int)x.completions[k].size();
                for (int j = 0; j < len; j++) sum += lrow[nc - 1 + j];
                double mean = sum / len;
                if (!std::isfinite(mean)) fail("%s: non-finite loss on example %d", path.c_str(), mine[first + e]);
                if (k == 0 || mean < best) { best = mean; pred = k; }
            }
            counts[0] += 1;
            counts[1] += pred == x.label;
        }
        if (bar) bar->update(first + nb);
    }
    if (bar) bar->finish();
    dist_allreduce_sum(counts, 2);
    HellaSwagResult r;
    r.n = (int)counts[0];
    r.correct = (int)counts[1];
    r.acc_norm = r.n > 0 ? (float)r.correct / (float)r.n : 0.0f;
    return r;
}

HellaSwagResult eval_hellaswag(Model& m, const std::string& eval_path, int B, int T) {
    EvalFile f = read_eval_file(eval_path, m.config().vocab_size);
    if (f.examples.empty()) fail("%s: no examples", eval_path.c_str());
    return score_hellaswag(m, f.examples, eval_path, B, T);
}

}  // namespace noln
