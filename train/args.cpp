#include "train/args.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "host/error.h"
#include "train/presets.h"

namespace noln {

// ---- value parsers: every error names the flag and the value ----

static long long to_ll(const std::string& v, const std::string& flag, long long lo, long long hi) {
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || errno)
        fail("%s: '%s' is not an integer", flag.c_str(), v.c_str());
    if (x < lo || x > hi)
        fail("%s: %lld is out of range [%lld, %lld]", flag.c_str(), x, lo, hi);
    return x;
}

static float to_float(const std::string& v, const std::string& flag, double lo, double hi) {
    char* end = nullptr;
    errno = 0;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || errno || !std::isfinite(x))
        fail("%s: '%s' is not a number", flag.c_str(), v.c_str());
    if (x < lo || x > hi) fail("%s: %g is out of range [%g, %g]", flag.c_str(), x, lo, hi);
    return (float)x;
}

static int to_bool(const std::string& v, const std::string& flag) {
    if (v != "0" && v != "1") fail("%s: '%s' must be 0 or 1", flag.c_str(), v.c_str());
    return v == "1";
}

// ---- the flag table: one row per flag; --help, presets, resume checks and the docs test
// all read it ----

struct Flag {
    const char* name;
    const char* meta;
    const char* help;
    std::function<void(TrainArgs&, const std::string& value, const std::string& flag)> set;
    // The value a resume must match ("key=value" in the training state); empty: the flag may
    // change between a run and its resume.
    std::function<std::string(const TrainArgs&)> saved;
};

using S = const std::string;
static const long long BIG = 1000000000;
enum Resume { FREE, MUST_MATCH };

static std::string fmt(double x) {
    char b[32];
    snprintf(b, sizeof b, "%.9g", x);  // round-trips a float
    return b;
}

// One row maker per field type: the parser and its range, and the resume value.
template <typename T>
static Flag integer(const char* name, const char* meta, const char* help, T TrainArgs::*f, long long lo,
                    long long hi, Resume r = FREE) {
    Flag x{name, meta, help, [f, lo, hi](TrainArgs& a, S& v, S& fl) { a.*f = (T)to_ll(v, fl, lo, hi); }, {}};
    if (r == MUST_MATCH) x.saved = [f](const TrainArgs& a) { return std::to_string((long long)(a.*f)); };
    return x;
}
static Flag real(const char* name, const char* meta, const char* help, float TrainArgs::*f, double lo, double hi,
                 Resume r = FREE) {
    Flag x{name, meta, help, [f, lo, hi](TrainArgs& a, S& v, S& fl) { a.*f = to_float(v, fl, lo, hi); }, {}};
    if (r == MUST_MATCH) x.saved = [f](const TrainArgs& a) { return fmt(a.*f); };
    return x;
}
static Flag boolean(const char* name, const char* help, int TrainArgs::*f, Resume r = FREE) {
    Flag x{name, "0|1", help, [f](TrainArgs& a, S& v, S& fl) { a.*f = to_bool(v, fl); }, {}};
    if (r == MUST_MATCH) x.saved = [f](const TrainArgs& a) { return std::to_string(a.*f); };
    return x;
}
static Flag text(const char* name, const char* meta, const char* help, std::string TrainArgs::*f,
                 Resume r = FREE) {
    Flag x{name, meta, help, [f](TrainArgs& a, S& v, S&) { a.*f = v; }, {}};
    if (r == MUST_MATCH) x.saved = [f](const TrainArgs& a) { return a.*f; };
    return x;
}

// A flag added after checkpoints existed: at its default it writes no resume line (an empty
// value is skipped by resume_settings), so those checkpoints still resume.
static Flag absent_at_default(Flag f, const std::string& def) {
    auto saved = f.saved;
    f.saved = [saved, def](const TrainArgs& a) {
        const std::string v = saved(a);
        return v == def ? std::string() : v;
    };
    return f;
}

static const std::vector<Flag>& flags() {
    static const std::vector<Flag> F = {
        text("-e", "MODEL", "model: llm.c .bin (or our checkpoint with LN state), HF GPT-2 folder or model.safetensors, or dN for a fresh depth-N GPT-2", &TrainArgs::model),
        integer("--width", "C", "dN only: channels (default 64*N, GPT-2's for N=12/24/36/48)", &TrainArgs::width, 1, 65536),
        integer("--heads", "NH", "dN only: attention heads (default N, GPT-2's for N=12/24/36/48)", &TrainArgs::heads, 1, 4096),
        integer("--vocab", "V", "dN only: vocabulary size (default 50257; padded to a multiple of 128)", &TrainArgs::vocab, 2, 1 << 24),
        integer("--max-seq", "N", "dN only: positions in wpe (default 1024; at least -t)", &TrainArgs::max_seq, 1, 1 << 20),
        text("-i", "GLOB", "training token shards (quote the glob)", &TrainArgs::train_glob, MUST_MATCH),
        text("-j", "GLOB", "validation token shards (empty: no validation)", &TrainArgs::val_glob),
        text("-o", "DIR", "output folder for main.log, main.jsonl and checkpoints (empty: none)", &TrainArgs::out_dir),
        integer("-b", "B", "micro-batch: sequences per rank per forward (default 4; 0 = the largest that fits the GPU, see --plan)", &TrainArgs::B, 0, 1 << 20, MUST_MATCH),
        integer("-t", "T", "sequence length (default 1024)", &TrainArgs::T, 1, 1 << 20, MUST_MATCH),
        integer("-d", "N", "tokens per optimizer step (-1: B*T*ranks, no accumulation); not a multiple of B*T*ranks: the nearest that is", &TrainArgs::total_batch, -1, 1LL << 40, MUST_MATCH),
        real("-l", "LR", "peak learning rate (default 3e-4)", &TrainArgs::lr, 0, 10, MUST_MATCH),
        integer("-u", "STEPS", "linear warmup steps (default 0)", &TrainArgs::warmup, 0, BIG, MUST_MATCH),
        real("-q", "FRAC", "final learning rate as a fraction of -l (default 1: no decay)", &TrainArgs::final_frac, 0, 1, MUST_MATCH),
        // a resume must keep the cosine's end step, whether given or defaulted to -x
        {"--lr-horizon", "STEPS", "step at which the cosine reaches -l*-q (default: -x)",
         [](TrainArgs& a, S& v, S& fl) { a.lr_horizon = (int)to_ll(v, fl, 0, BIG); },
         [](const TrainArgs& a) { return std::to_string(a.horizon()); }},
        real("-c", "WD", "AdamW weight decay on 2-D tensors (default 0)", &TrainArgs::weight_decay, 0, 10, MUST_MATCH),
        integer("-x", "STEPS", "optimizer steps to run (required unless a preset sets it)", &TrainArgs::steps, 1, BIG),
        real("--beta1", "B1", "AdamW beta1 (default 0.9)", &TrainArgs::beta1, 0, 0.999999999, MUST_MATCH),
        real("--beta2", "B2", "AdamW beta2 (default 0.95)", &TrainArgs::beta2, 0, 0.999999999, MUST_MATCH),
        real("--adam-eps", "EPS", "AdamW epsilon (default 1e-8)", &TrainArgs::adam_eps, 1e-30, 1, MUST_MATCH),
        real("--grad-clip", "NORM", "clip the global gradient norm to NORM (default 1; 0 = off)", &TrainArgs::grad_clip, 0, 1e30, MUST_MATCH),
        boolean("--shuffle", "shuffle the training shards and samples (default 1)", &TrainArgs::shuffle, MUST_MATCH),
        integer("--seed", "N", "seed for dN init and data shuffling (default 42)", &TrainArgs::seed, 0, 1LL << 62, MUST_MATCH),
        integer("-v", "STEPS", "validate every STEPS steps and at the end (default 20; 0 = never)", &TrainArgs::val_every, 0, BIG),
        integer("-m", "N", "validation batches per validation (default 20; 0 = all)", &TrainArgs::val_batches, 0, BIG),
        integer("-n", "STEPS", "checkpoint every STEPS steps (default 0 = never)", &TrainArgs::ckpt_every, 0, BIG),
        integer("-nk", "N", "keep only the newest N checkpoints in -o, deleting older ones (default 0 = keep all)", &TrainArgs::keep_ckpts, 0, BIG),
        integer("-nm", "M", "with -nk: checkpoints at multiples of M steps are major, never deleted (default 0 = none)", &TrainArgs::major_ckpts, 0, BIG),
        boolean("-y", "resume from the newest complete checkpoint in -o (default 0)", &TrainArgs::resume),
        boolean("-h", "HellaSwag eval at every validation (needs --hellaswag; default 0)", &TrainArgs::hellaswag),
        text("--hellaswag", "FILE", "HellaSwag eval file (llm.c format)", &TrainArgs::hellaswag_file),
        text("--preset", "NAME", "set every hyperparameter of a published schedule (see docs/training.md)", &TrainArgs::preset),
        boolean("--vanilla", "1: keep every LayerNorm (the control run), whatever the preset or --remove", &TrainArgs::vanilla),
        {"--remove", "SPEC", "removal schedule: ln2=START/GAP,ln1qk=START/GAP,ln1v=START/GAP,lnf=STEP (parts optional, 'off' allowed)",
         [](TrainArgs& a, S& v, S& fl) { parse_removal_override(v, a.remove, fl); },
         [](const TrainArgs& a) { return a.remove.to_string(); }},
        real("--sigma-momentum", "M", "EMA momentum of the sigma estimates (default 0.9; 1 = keep the first observation)", &TrainArgs::sigma_momentum, 0, 1, MUST_MATCH),
        absent_at_default(integer("--sigma-momentum-seqs", "N", "rescale --sigma-momentum M, quoted for N sequences per EMA update, to M^(B*ranks/N) (default 0 = as given)", &TrainArgs::sigma_momentum_seqs, 0, 1 << 20, MUST_MATCH), "0"),
        real("--aux-lambda", "L", "weight of the aux loss at the ln_f input (default 0 = off)", &TrainArgs::aux_lambda, 0, 1e6, MUST_MATCH),
        integer("--bos-sigma-off", "STEP", "divide position 0 of frozen paths by sigma_bos for steps < STEP (default 0 = never)", &TrainArgs::bos_sigma_off, 0, BIG, MUST_MATCH),
        integer("--eot-sigma-off", "STEP", "divide EOT tokens on frozen ln1v paths by sigma_bos for steps < STEP (default 0 = never)", &TrainArgs::eot_sigma_off, 0, BIG, MUST_MATCH),
        boolean("--mask-eot-targets", "leave targets equal to EOT out of the loss (default 0)", &TrainArgs::mask_eot_targets, MUST_MATCH),
        absent_at_default(integer("-z", "0|1", "ZeRO stage: 0 every rank holds the whole AdamW state, 1 shards m, v and the masters over ranks (default 0)", &TrainArgs::zero, 0, 1, MUST_MATCH), "0"),
        integer("-r", "0|1|2", "recompute in the backward: 0 none, 1 GELU, 2 GELU and LayerNorm outputs (default 0)", &TrainArgs::recompute, 0, 2),
        boolean("--plan", "1: print the batch and memory plan for this model, preset, rank count and GPU, and exit", &TrainArgs::plan),
        real("--gpu-mem", "GiB", "GPU memory the plan may use (default 0 = the device's free memory)", &TrainArgs::gpu_mem, 0, 1e6),
        absent_at_default(boolean("--bos-off-ln1-only", "1: at --bos-sigma-off only the ln1qk/ln1v paths drop sigma_bos, ln2 and lnf keep it (paper (a)'s code; default 0)", &TrainArgs::bos_off_ln1_only, MUST_MATCH), "0"),
        absent_at_default(boolean("--zero-based-steps", "1: the step values of -u, --lr-horizon, --remove and the *-sigma-off flags count 0-based iterations, step k being iteration k-1 (paper (a)'s code; default 0)", &TrainArgs::zero_based_steps, MUST_MATCH), "0"),
        absent_at_default({"--gelu", "tanh|erf", "the MLP's GELU: tanh (GPT-2's, default) or erf (exact, nanoGPT's, paper (a))",
         [](TrainArgs& a, S& v, S& fl) {
             if (v != "tanh" && v != "erf") fail("%s: '%s' must be tanh or erf", fl.c_str(), v.c_str());
             a.gelu = v == "erf" ? Gelu::Erf : Gelu::Tanh;
         },
         [](const TrainArgs& a) { return std::string(gelu_name(a.gelu)); }}, "tanh"),
        text("--export-hf", "DIR", "at the end, write an LN-free Hugging Face GPT-2 to DIR (every path must be frozen)", &TrainArgs::export_hf),
        boolean("--export-fold-ln1", "export: fold the ln1qk/ln1v sigma ratio into the V weights (exact; default 1; 0 refuses differing sigmas)", &TrainArgs::export_fold_ln1),
    };
    return F;
}

static const Flag* find_flag(const std::string& name) {
    for (const Flag& f : flags())
        if (name == f.name) return &f;
    return nullptr;
}

void apply_preset(const Preset& p, TrainArgs& a) {
    for (const auto& [name, value] : p.flags) {
        const Flag* f = find_flag(name);
        if (!f) fail("--preset %s: unknown flag %s", p.name, name.c_str());
        f->set(a, value, "--preset " + std::string(p.name) + ": " + name);
    }
}

std::string resume_settings(const TrainArgs& a, const GPT2Config& c, int world) {
    auto i = [](long long x) { return std::to_string(x); };
    std::string s = "model=" + i(c.num_layers) + "L " + i(c.channels) + "C " + i(c.num_heads) + "H V" +
                    i(c.vocab_size) + " Vp" + i(c.padded_vocab_size) + " maxT" + i(c.max_seq_len) + "\n";
    s += "ranks=" + i(world) + "\n";
    for (const Flag& f : flags())
        if (f.saved) {
            const std::string v = f.saved(a);
            if (!v.empty()) s += std::string(f.name) + "=" + v + "\n";
        }
    return s;
}

TrainArgs parse_train_args(int argc, const char* const* argv, bool* help) {
    if (help) *help = false;
    // Pass 1: pair every flag with its value, so the preset can go first whatever its place.
    std::vector<std::pair<const Flag*, std::string>> given;
    for (int i = 1; i < argc; i++) {
        std::string name = argv[i];
        if (name == "--help") {
            if (help) *help = true;
            return TrainArgs{};
        }
        const Flag* flag = find_flag(name);
        if (!flag) fail("%s: unknown flag (see --help)", name.c_str());
        if (i + 1 >= argc) fail("%s: missing value (%s)", name.c_str(), flag->meta);
        given.push_back({flag, argv[++i]});
    }
    TrainArgs a;
    for (auto& [f, v] : given)
        if (std::string(f->name) == "--preset") {
            const Preset* p = find_preset(v);
            if (!p) fail("--preset: unknown preset '%s' (expected %s)", v.c_str(), preset_names().c_str());
            a.preset = v;
        }
    if (!a.preset.empty()) apply_preset(*find_preset(a.preset), a);
    for (auto& [f, v] : given) f->set(a, v, f->name);
    if (a.vanilla) a.remove = RemovalSchedule{};

    if (a.model.empty()) fail("-e: no model given (a model file, an HF folder or dN)");
    // the dN shape flags would be silently ignored with a model file, which has its own shape
    if (!is_fresh_model(a.model))
        for (auto& [f, v] : given)
            for (const char* shape : {"--width", "--heads", "--vocab", "--max-seq"})
                if (std::string(f->name) == shape)
                    fail("%s: applies only to -e dN (a fresh model); %s has its own shape", shape,
                         a.model.c_str());
    if (a.ckpt_every > 0 && a.out_dir.empty())
        fail("-n: checkpoints (-n %d) need -o DIR to write them to", a.ckpt_every);
    if (a.train_glob.empty() && !a.plan) fail("-i: no training shards given");
    if (a.steps <= 0 && !a.plan) fail("-x: number of steps not given (set -x or a --preset)");
    if (a.hellaswag && a.hellaswag_file.empty()) fail("-h: HellaSwag (-h 1) needs --hellaswag FILE");
    if (a.resume && a.out_dir.empty()) fail("-y: resuming (-y 1) needs -o DIR, where the checkpoints are");
    if (a.lr_horizon > 0 && a.lr_horizon < a.warmup)
        fail("--lr-horizon: %d is before the end of warmup (-u %d)", a.lr_horizon, a.warmup);
    return a;
}

float effective_sigma_momentum(const TrainArgs& a, int ranks) {
    if (a.sigma_momentum_seqs <= 0) return a.sigma_momentum;
    return (float)std::pow((double)a.sigma_momentum, (double)a.B * ranks / a.sigma_momentum_seqs);
}

bool is_fresh_model(const std::string& e) {
    return e.size() >= 2 && e[0] == 'd' && e.find_first_not_of("0123456789", 1) == std::string::npos;
}

int resolve_grad_accum(TrainArgs& a, int ranks) {
    if (a.B < 1) fail("-b: %d; -b 0 (the largest that fits) is resolved by the trainer's plan", a.B);
    // 64-bit throughout: B and T go up to 2^20 each and -d to 2^40
    const int64_t per_fwd = (int64_t)a.B * a.T * ranks;
    if ((int64_t)a.B * a.T > INT_MAX)
        fail("-b %d * -t %d = %lld tokens per micro-batch, more than the limit %d", a.B, a.T,
             (long long)a.B * a.T, INT_MAX);
    if (a.total_batch == -1 || a.total_batch == 0) a.total_batch = per_fwd;
    if (a.total_batch % per_fwd != 0)
        fail("-d: %lld tokens per step is not a multiple of -b %d * -t %d * %d rank(s) = %lld",
             (long long)a.total_batch, a.B, a.T, ranks, (long long)per_fwd);
    const int64_t accum = a.total_batch / per_fwd;
    if (accum > INT_MAX)
        fail("-d: %lld tokens per step is %lld micro-batches of %lld tokens, more than the limit %d",
             (long long)a.total_batch, (long long)accum, (long long)per_fwd, INT_MAX);
    return (int)accum;
}

std::string train_usage(const char* prog) {
    std::string out = std::string("usage: ") + prog + " -e MODEL -i GLOB [flags]\n"
        "Fine-tunes GPT-2 while removing its LayerNorms (docs/training.md).\n"
        "Every flag takes one value; explicit flags override --preset whatever their order.\n\n";
    for (const Flag& f : flags()) {
        char line[64];
        snprintf(line, sizeof line, "  %s %s", f.name, f.meta);
        out += line;
        out += std::string(line).size() < 26 ? std::string(26 - std::string(line).size(), ' ') : "  ";
        out += f.help;
        out += '\n';
    }
    out += "  --help                  this text\n\npresets: ";
    out += preset_names();
    out += "\n";
    return out;
}

std::vector<std::string> train_flag_names() {
    std::vector<std::string> out;
    for (const Flag& f : flags()) out.push_back(f.name);
    out.push_back("--help");
    return out;
}

}  // namespace noln
