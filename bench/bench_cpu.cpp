// bench_cpu: how fast the CPU GPT-2 trains. For each configuration it runs the steps of the
// training loop (zero_grad, forward, backward, grad_norm, AdamW) on random tokens and
// prints milliseconds per phase, training tokens per second and, with --profile 1, the time
// of every op. bench/bench_torch.py runs the same shapes in PyTorch and prints the ratio
// (`make bench-cpu`; docs/benchmarks.md).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "host/error.h"

using namespace noln;

struct BenchConfig {
    std::string name;
    int L, C, NH, B, T;
};

// The shapes docs/benchmarks.md reports: the demo's model, two small ones, GPT-2 124M.
static const BenchConfig PRESETS[] = {
    {"demo", 4, 64, 4, 16, 64},
    {"d4", 4, 256, 4, 8, 64},
    {"d6", 6, 384, 6, 4, 128},
    {"d12", 12, 768, 12, 4, 64},
};

static BenchConfig parse_config(const std::string& s) {
    for (const auto& p : PRESETS)
        if (s == p.name) return p;
    BenchConfig c{s, 0, 0, 0, 0, 0};
    if (sscanf(s.c_str(), "%d:%d:%d:%d:%d", &c.L, &c.C, &c.NH, &c.B, &c.T) != 5 || c.L < 1 ||
        c.C < 1 || c.NH < 1 || c.B < 1 || c.T < 1)
        fail("bench_cpu: --config '%s' is neither a preset (demo, d4, d6, d12) nor L:C:NH:B:T",
             s.c_str());
    return c;
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

static void run(const BenchConfig& bc, int steps, int warmup, bool profile) {
    GPT2Config c = gpt2_config_for_depth(bc.L, bc.T);
    c.channels = bc.C;
    c.num_heads = bc.NH;
    validate_config(c, "bench_cpu --config " + bc.name);
    GPT2CPU model(c);
    gpt2_init_params(c, model.params(), 1337);
    std::mt19937 rng(42);
    const int B = bc.B, T = bc.T;
    std::vector<int> in(B * T), tg(B * T);
    for (int i = 0; i < B * T; i++) in[i] = rng() % c.vocab_size, tg[i] = rng() % c.vocab_size;
    AdamW h;
    h.lr = 1e-4f;
    h.weight_decay = 0.1f;

    OpProfile prof;
    std::vector<double> t_zero, t_fwd, t_bwd, t_norm, t_adam, t_step;
    float loss = 0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup && profile) model.set_profile(&prof);
        const double t0 = omp_get_wtime();
        model.zero_grad();
        const double t1 = omp_get_wtime();
        loss = model.forward(in.data(), tg.data(), B, T).ce;
        const double t2 = omp_get_wtime();
        model.backward(1.0f);
        const double t3 = omp_get_wtime();
        const float norm = model.grad_norm();
        const double t4 = omp_get_wtime();
        model.adamw_step(h, norm > 1.0f ? 1.0f / norm : 1.0f, s + 1);
        const double t5 = omp_get_wtime();
        if (s < warmup) continue;
        t_zero.push_back(t1 - t0);
        t_fwd.push_back(t2 - t1);
        t_bwd.push_back(t3 - t2);
        t_norm.push_back(t4 - t3);
        t_adam.push_back(t5 - t4);
        t_step.push_back(t5 - t0);
    }
    model.set_profile(nullptr);
    const double step = median(t_step);
    printf("config %s: L=%d C=%d NH=%d B=%d T=%d V=%d, %.1fM parameters, %d threads, %d steps\n",
           bc.name.c_str(), bc.L, bc.C, bc.NH, B, T, c.vocab_size,
           num_parameters(c) / 1e6, omp_get_max_threads(), steps);
    printf("  median ms: zero_grad %.2f  forward %.2f  backward %.2f  grad_norm %.2f  adamw %.2f"
           "  step %.2f\n", 1e3 * median(t_zero), 1e3 * median(t_fwd), 1e3 * median(t_bwd),
           1e3 * median(t_norm), 1e3 * median(t_adam), 1e3 * step);
    printf("  training tokens/s %.0f (last loss %.4f)\n", B * T / step, loss);
    if (profile) {
        double total = 0;
        for (const auto& e : prof.entries) total += e.seconds;
        printf("  per op (forward+backward, ms per step, share):\n");
        for (const auto& e : prof.entries)
            printf("    %-18s %9.2f  %5.1f%%\n", e.name.c_str(), 1e3 * e.seconds / steps,
                   100 * e.seconds / total);
    }
    // One line for bench/bench_torch.py to read.
    printf("RESULT %s tokens_per_s=%.1f forward_ms=%.3f backward_ms=%.3f adamw_ms=%.3f "
           "step_ms=%.3f\n", bc.name.c_str(), B * T / step, 1e3 * median(t_fwd),
           1e3 * median(t_bwd), 1e3 * (median(t_adam) + median(t_norm) + median(t_zero)),
           1e3 * step);
    fflush(stdout);
}

static void usage() {
    printf("usage: bench_cpu [--config LIST] [--steps N] [--warmup N] [--threads N]"
           " [--profile 0|1]\n"
           "  --config   comma-separated presets (demo, d4, d6, d12) or L:C:NH:B:T; default d4\n"
           "  --steps    timed steps per config (default 5), after --warmup untimed ones"
           " (default 1)\n"
           "  --threads  OpenMP threads; BLAS runs on them (default: OpenMP's default)\n"
           "  --profile  1: also print the time of every op of forward and backward\n");
}

int main(int argc, char** argv) {
    try {
        std::string configs = "d4";
        int steps = 5, warmup = 1, threads = 0, profile = 0;
        for (int i = 1; i < argc; i++) {
            const std::string a = argv[i];
            if (a == "--help" || a == "-h") {
                usage();
                return 0;
            }
            if (i + 1 >= argc) fail("bench_cpu: %s needs a value (see --help)", a.c_str());
            const char* v = argv[++i];
            char* end = nullptr;
            const long n = strtol(v, &end, 10);
            const bool num_ok = *v && !*end && n >= 0 && n < 1000000;
            if (a == "--config") configs = v;
            else if (!num_ok) fail("bench_cpu: %s '%s' is not a count", a.c_str(), v);
            else if (a == "--steps" && n >= 1) steps = (int)n;
            else if (a == "--warmup") warmup = (int)n;
            else if (a == "--threads") threads = (int)n;
            else if (a == "--profile") profile = (int)n;
            else fail("bench_cpu: unknown flag or bad value: %s %s (see --help)", a.c_str(), v);
        }
        if (threads > 0) omp_set_num_threads(threads);
        size_t pos = 0;
        while (pos <= configs.size()) {
            size_t comma = configs.find(',', pos);
            if (comma == std::string::npos) comma = configs.size();
            run(parse_config(configs.substr(pos, comma - pos)), steps, warmup, profile != 0);
            pos = comma + 1;
        }
    } catch (const Error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
