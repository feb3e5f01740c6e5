// HellaSwag acc_norm and validation CE (eval/eval.h) against answers computed here from
// direct forwards of each sequence on its own (no batching, no padding, no masks), with the
// cross-entropy taken from the logits in double.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "io/dataloader.h"
#include "host/error.h"
#include "eval/eval.h"
#include "io/eval_file.h"
#include "io/file_io.h"
#include "io/shard.h"
#include "tests/eval/eval_util.h"

using namespace noln;
using Catch::Matchers::Contains;

// -log softmax(logits[pos])[target] for each (pos, target), in double.
static std::vector<double> direct_ce(GPT2CPU& m, const std::vector<int>& seq,
                                     const std::vector<std::pair<int, int>>& pos_target) {
    const int T = (int)seq.size(), V = m.config().vocab_size;
    m.forward(seq.data(), nullptr, 1, T);
    std::vector<float> lg((size_t)T * V);
    m.get_logits(lg.data());
    std::vector<double> out;
    for (auto [p, y] : pos_target) {
        const float* row = &lg[(size_t)p * V];
        double mx = row[0];
        for (int v = 1; v < V; v++) mx = std::max(mx, (double)row[v]);
        double s = 0;
        for (int v = 0; v < V; v++) s += std::exp((double)row[v] - mx);
        out.push_back(mx + std::log(s) - row[y]);
    }
    return out;
}

struct Case {
    std::vector<EvalExample> ex;
    int expected_correct = 0;
};

// Random examples; the label is the direct forward's best completion for 2 of every 3
// examples and a wrong one for the rest, so the expected count is known.
static Case make_case(GPT2CPU& m, int n, uint64_t seed) {
    std::mt19937 rng((uint32_t)seed);
    const int V = m.config().vocab_size;
    std::uniform_int_distribution<int> tok(0, V - 1), clen(1, 6), elen(1, 5);
    Case c;
    for (int i = 0; i < n; i++) {
        EvalExample e;
        e.context.resize(clen(rng));
        for (int& t : e.context) t = tok(rng);
        double best = 1e30, second = 1e30;
        int arg = 0;
        for (int k = 0; k < 4; k++) {
            std::vector<int> end(elen(rng));
            for (int& t : end) t = tok(rng);
            std::vector<int> seq = e.context;
            seq.insert(seq.end(), end.begin(), end.end());
            std::vector<std::pair<int, int>> pt;
            for (size_t j = 0; j < end.size(); j++) pt.push_back({(int)e.context.size() - 1 + (int)j, end[j]});
            double mean = 0;
            for (double x : direct_ce(m, seq, pt)) mean += x;
            mean /= (double)end.size();
            if (mean < best) { second = best; best = mean; arg = k; }
            else if (mean < second) second = mean;
            e.completions.push_back(end);
        }
        REQUIRE(second - best > 1e-3);  // a clear winner, so float rounding cannot flip it
        bool right = i % 3 != 2;
        e.label = right ? arg : (arg + 1 + i % 3) % 4;
        c.expected_correct += right;
        c.ex.push_back(e);
    }
    return c;
}

TEST_CASE("HellaSwag acc_norm picks the completion with the lowest mean CE", "[eval][hellaswag]") {
    GPT2Config c = evaltest::tiny_config(2, 16, 2, 64, 16);
    std::vector<float> p = evaltest::random_params(c, 21, 8.0f);
    GPT2CPU m(c);
    m.set_parameters(p.data());
    LNState s(c.num_layers);  // a mix of REAL and FROZEN paths: the eval must not care
    s.path(PATH_LN2, 0) = {true, 0.5f, 1.0f};
    m.set_ln_state(s);
    Case k = make_case(m, 11, 5);
    REQUIRE(k.expected_correct > 0);
    REQUIRE(k.expected_correct < 11);
    std::string dir = "build/tests/eval/tmp/hs";
    make_dirs(dir);
    write_eval_file(dir + "/hs.bin", k.ex);

    for (auto [B, T] : {std::pair<int, int>{4, 0}, {8, 16}, {12, 11}, {5, 0}}) {
        INFO("B=" << B << " T=" << T);
        HellaSwagResult r = eval_hellaswag(m, dir + "/hs.bin", B, T);
        REQUIRE(r.n == 11);
        REQUIRE(r.correct == k.expected_correct);
        REQUIRE(r.acc_norm == Approx((double)k.expected_correct / 11.0));
    }
    // a wrong label swapped in must change the count (the check above can fail)
    k.ex[0].label = (k.ex[0].label + 1) % 4;
    write_eval_file(dir + "/hs2.bin", k.ex);
    HellaSwagResult r2 = eval_hellaswag(m, dir + "/hs2.bin", 4, 0);
    REQUIRE(r2.correct == k.expected_correct - 1);
}

TEST_CASE("HellaSwag errors: small B, short T, long examples, missing file", "[eval][hellaswag]") {
    GPT2Config c = evaltest::tiny_config(1, 16, 2, 64, 16);
    std::vector<float> p = evaltest::random_params(c, 22);
    GPT2CPU m(c);
    m.set_parameters(p.data());
    std::string dir = "build/tests/eval/tmp/hs";
    make_dirs(dir);
    EvalExample e;
    e.context = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    e.completions = {{1, 2}, {3}, {4, 5, 6}, {7}};  // longest: 13 tokens
    write_eval_file(dir + "/one.bin", {e});
    REQUIRE_THROWS_WITH(eval_hellaswag(m, dir + "/one.bin", 3, 0), Contains("at least 4 rows"));
    REQUIRE_THROWS_WITH(eval_hellaswag(m, dir + "/one.bin", 4, 12), Contains("13 tokens, more than T=12"));
    REQUIRE(eval_hellaswag(m, dir + "/one.bin", 4, 13).n == 1);
    GPT2Config small = evaltest::tiny_config(1, 16, 2, 64, 12);
    std::vector<float> ps = evaltest::random_params(small, 22);
    GPT2CPU ms(small);
    ms.set_parameters(ps.data());
    REQUIRE_THROWS_WITH(eval_hellaswag(ms, dir + "/one.bin", 4, 0), Contains("max_seq_len 12"));
    REQUIRE_THROWS_WITH(eval_hellaswag(m, dir + "/absent.bin", 4, 0), Contains("absent.bin"));
    // tokens beyond this model's vocab
    EvalExample big = e;
    big.completions[2][0] = 64;
    write_eval_file(dir + "/vocab.bin", {big});
    REQUIRE_THROWS_WITH(eval_hellaswag(m, dir + "/vocab.bin", 4, 0), Contains("vocab.bin"));
}

TEST_CASE("val loss: token-weighted mean CE over the first batches, from the start", "[eval][val]") {
    GPT2Config c = evaltest::tiny_config(2, 16, 2, 64, 16);
    std::vector<float> p = evaltest::random_params(c, 23, 6.0f);
    GPT2CPU m(c);
    m.set_parameters(p.data());
    std::mt19937 rng(9);
    std::vector<int> tok(2 * 8 * 5 + 3);  // 5 batches of 2x8, a few spare tokens
    for (int& t : tok) t = (int)(rng() % 64);
    std::string dir = "build/tests/eval/tmp/val";
    make_dirs(dir);
    write_shard(dir + "/val_000000.bin", tok);
    const int B = 2, T = 8;
    DataLoader val(dir + "/val_*.bin", B, T, 0, 1, false, 64);
    REQUIRE(val.num_batches() == 5);

    // batch k, row b holds tokens [k*B*T + b*T, +T), targets shifted by one
    auto expected = [&](int nb) {
        double sum = 0;
        for (int k = 0; k < nb; k++)
            for (int b = 0; b < B; b++) {
                size_t o = (size_t)k * B * T + (size_t)b * T;
                std::vector<int> seq(tok.begin() + o, tok.begin() + o + T);
                std::vector<std::pair<int, int>> pt;
                for (int t = 0; t < T; t++) pt.push_back({t, tok[o + t + 1]});
                for (double x : direct_ce(m, seq, pt)) sum += x;
            }
        return sum / (nb * B * T);
    };
    val.next_batch();  // a used loader: eval must start from the first batch anyway
    double e3 = expected(3), e5 = expected(5);
    REQUIRE(std::fabs(e3 - e5) > 1e-4);  // the batch count matters, so the checks can fail
    REQUIRE(eval_val_loss(m, val, 3) == Approx(e3).epsilon(1e-5));
    REQUIRE(eval_val_loss(m, val, 0) == Approx(e5).epsilon(1e-5));
    REQUIRE(eval_val_loss(m, val, 99) == Approx(e5).epsilon(1e-5));
}
