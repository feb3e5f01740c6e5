#include "train/args.h"

#include <cerrno>
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

static int to_int(const std::string& v, const std::string& flag, int lo, int hi) {
    return (int)to_ll(v, flag, lo, hi);
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

// ---- the flag table: one row per flag, --help and the docs test read it ----

struct Flag {
    const char* name;
    const char* meta;
    const char* help;
    std::function<void(TrainArgs&, const std::string&, const std::string&)> set;
};

using S = const std::string;
static const int BIG = 1000000000;

static const std::vector<Flag>& flags() {
    static const std::vector<Flag> F = {
        {"-e", "MODEL", "model: llm.c .bin (or our checkpoint with LN state), HF GPT-2 folder or model.safetensors, or dN for a fresh depth-N GPT-2",
         [](TrainArgs& a, S& v, S&) { a.model = v; }},
        {"--width", "C", "dN only: channels (default 64*N, GPT-2's for N=12/24/36/48)",
         [](TrainArgs& a, S& v, S& f) { a.width = to_int(v, f, 1, 65536); }},
        {"--heads", "NH", "dN only: attention heads (default N, GPT-2's for N=12/24/36/48)",
         [](TrainArgs& a, S& v, S& f) { a.heads = to_int(v, f, 1, 4096); }},
        {"--vocab", "V", "dN only: vocabulary size (default 50257; padded to a multiple of 128)",
         [](TrainArgs& a, S& v, S& f) { a.vocab = to_int(v, f, 2, 1 << 24); }},
        {"--max-seq", "N", "dN only: positions in wpe (default 1024; at least -t)",
         [](TrainArgs& a, S& v, S& f) { a.max_seq = to_int(v, f, 1, 1 << 20); }},
        {"-i", "GLOB", "training token shards (quote the glob)",
         [](TrainArgs& a, S& v, S&) { a.train_glob = v; }},
        {"-j", "GLOB", "validation token shards (empty: no validation)",
         [](TrainArgs& a, S& v, S&) { a.val_glob = v; }},
        {"-o", "DIR", "output folder for main.log, main.jsonl and checkpoints (empty: none)",
         [](TrainArgs& a, S& v, S&) { a.out_dir = v; }},
        {"-b", "B", "micro-batch: sequences per rank per forward (default 4)",
         [](TrainArgs& a, S& v, S& f) { a.B = to_int(v, f, 1, 1 << 20); }},
        {"-t", "T", "sequence length (default 1024)",
         [](TrainArgs& a, S& v, S& f) { a.T = to_int(v, f, 1, 1 << 20); }},
        {"-d", "N", "tokens per optimizer step, a multiple of B*T*ranks (-1: B*T*ranks, no accumulation)",
         [](TrainArgs& a, S& v, S& f) { a.total_batch = to_ll(v, f, -1, (long long)1 << 40); }},
        {"-l", "LR", "peak learning rate (default 3e-4)",
         [](TrainArgs& a, S& v, S& f) { a.lr = to_float(v, f, 0, 10); }},
        {"-u", "STEPS", "linear warmup steps (default 0)",
         [](TrainArgs& a, S& v, S& f) { a.warmup = to_int(v, f, 0, BIG); }},
        {"-q", "FRAC", "final learning rate as a fraction of -l (default 1: no decay)",
         [](TrainArgs& a, S& v, S& f) { a.final_frac = to_float(v, f, 0, 1); }},
        {"--lr-horizon", "STEPS", "step at which the cosine reaches -l*-q (default: -x)",
         [](TrainArgs& a, S& v, S& f) { a.lr_horizon = to_int(v, f, 0, BIG); }},
        {"-c", "WD", "AdamW weight decay on 2-D tensors (default 0)",
         [](TrainArgs& a, S& v, S& f) { a.weight_decay = to_float(v, f, 0, 10); }},
        {"-x", "STEPS", "optimizer steps to run (required unless a preset sets it)",
         [](TrainArgs& a, S& v, S& f) { a.steps = to_int(v, f, 1, BIG); }},
        {"--beta1", "B1", "AdamW beta1 (default 0.9)",
         [](TrainArgs& a, S& v, S& f) { a.beta1 = to_float(v, f, 0, 0.999999999); }},
        {"--beta2", "B2", "AdamW beta2 (default 0.95)",
         [](TrainArgs& a, S& v, S& f) { a.beta2 = to_float(v, f, 0, 0.999999999); }},
        {"--adam-eps", "EPS", "AdamW epsilon (default 1e-8)",
         [](TrainArgs& a, S& v, S& f) { a.adam_eps = to_float(v, f, 1e-30, 1); }},
        {"--grad-clip", "NORM", "clip the global gradient norm to NORM (default 1; 0 = off)",
         [](TrainArgs& a, S& v, S& f) { a.grad_clip = to_float(v, f, 0, 1e30); }},
        {"--shuffle", "0|1", "shuffle the training shards and samples (default 1)",
         [](TrainArgs& a, S& v, S& f) { a.shuffle = to_bool(v, f); }},
        {"--seed", "N", "seed for dN init and data shuffling (default 42)",
         [](TrainArgs& a, S& v, S& f) { a.seed = (uint64_t)to_ll(v, f, 0, (long long)1 << 62); }},
        {"-v", "STEPS", "validate every STEPS steps and at the end (default 20; 0 = never)",
         [](TrainArgs& a, S& v, S& f) { a.val_every = to_int(v, f, 0, BIG); }},
        {"-m", "N", "validation batches per validation (default 20; 0 = all)",
         [](TrainArgs& a, S& v, S& f) { a.val_batches = to_int(v, f, 0, BIG); }},
        {"-n", "STEPS", "checkpoint every STEPS steps (default 0 = never)",
         [](TrainArgs& a, S& v, S& f) { a.ckpt_every = to_int(v, f, 0, BIG); }},
        {"-y", "0|1", "resume from the newest complete checkpoint in -o (default 0)",
         [](TrainArgs& a, S& v, S& f) { a.resume = to_bool(v, f); }},
        {"-h", "0|1", "HellaSwag eval at every validation (needs --hellaswag; default 0)",
         [](TrainArgs& a, S& v, S& f) { a.hellaswag = to_bool(v, f); }},
        {"--hellaswag", "FILE", "HellaSwag eval file (llm.c format)",
         [](TrainArgs& a, S& v, S&) { a.hellaswag_file = v; }},
        {"--preset", "NAME", "set every hyperparameter of a published schedule (see docs/training.md)",
         [](TrainArgs& a, S& v, S&) { a.preset = v; }},
        {"--vanilla", "0|1", "1: keep every LayerNorm (the control run), whatever the preset or --remove",
         [](TrainArgs& a, S& v, S& f) { a.vanilla = to_bool(v, f); }},
        {"--remove", "SPEC", "removal schedule: ln2=START/GAP,ln1qk=START/GAP,ln1v=START/GAP,lnf=STEP (parts optional, 'off' allowed)",
         [](TrainArgs& a, S& v, S& f) { parse_removal_override(v, a.remove, f); }},
        {"--sigma-momentum", "M", "EMA momentum of the sigma estimates (default 0.9; 1 = keep the first observation)",
         [](TrainArgs& a, S& v, S& f) { a.sigma_momentum = to_float(v, f, 0, 1); }},
        {"--aux-lambda", "L", "weight of the aux loss at the ln_f input (default 0 = off)",
         [](TrainArgs& a, S& v, S& f) { a.aux_lambda = to_float(v, f, 0, 1e6); }},
        {"--bos-sigma-off", "STEP", "divide position 0 of frozen paths by sigma_bos for steps < STEP (default 0 = never)",
         [](TrainArgs& a, S& v, S& f) { a.bos_sigma_off = to_int(v, f, 0, BIG); }},
        {"--eot-sigma-off", "STEP", "divide EOT tokens on frozen ln1v paths by sigma_bos for steps < STEP (default 0 = never)",
         [](TrainArgs& a, S& v, S& f) { a.eot_sigma_off = to_int(v, f, 0, BIG); }},
        {"--mask-eot-targets", "0|1", "leave targets equal to EOT out of the loss (default 0)",
         [](TrainArgs& a, S& v, S& f) { a.mask_eot_targets = to_bool(v, f); }},
        {"--export-hf", "DIR", "at the end, write an LN-free Hugging Face GPT-2 to DIR (every path must be frozen)",
         [](TrainArgs& a, S& v, S&) { a.export_hf = v; }},
        {"--export-fold-ln1", "0|1", "export: fold the ln1qk/ln1v sigma ratio into the V weights (exact; default 1; 0 refuses differing sigmas)",
         [](TrainArgs& a, S& v, S& f) { a.export_fold_ln1 = to_bool(v, f); }},
    };
    return F;
}

static void apply_preset(const Preset& p, TrainArgs& a) {
    a.remove = p.remove;
    a.steps = p.steps;
    a.lr_horizon = p.lr_horizon;
    a.total_batch = p.tokens_per_step;
    a.B = p.micro_batch;
    a.T = p.seq_len;
    a.lr = p.lr;
    a.final_frac = (float)((double)p.min_lr / (double)p.lr);
    a.warmup = p.warmup;
    a.weight_decay = p.weight_decay;
    a.beta1 = p.beta1;
    a.beta2 = p.beta2;
    a.adam_eps = p.adam_eps;
    a.grad_clip = p.grad_clip;
    a.aux_lambda = p.aux_lambda;
    a.sigma_momentum = p.sigma_momentum;
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
        const Flag* flag = nullptr;
        for (const Flag& f : flags())
            if (name == f.name) flag = &f;
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
    if (a.train_glob.empty()) fail("-i: no training shards given");
    if (a.steps <= 0) fail("-x: number of steps not given (set -x or a --preset)");
    if (a.hellaswag && a.hellaswag_file.empty()) fail("-h: HellaSwag (-h 1) needs --hellaswag FILE");
    if (a.resume && a.out_dir.empty()) fail("-y: resuming (-y 1) needs -o DIR, where the checkpoints are");
    if (a.lr_horizon > 0 && a.lr_horizon < a.warmup)
        fail("--lr-horizon: %d is before the end of warmup (-u %d)", a.lr_horizon, a.warmup);
    return a;
}

int resolve_grad_accum(TrainArgs& a, int ranks) {
    const long per_fwd = (long)a.B * a.T * ranks;
    if (a.total_batch == -1 || a.total_batch == 0) a.total_batch = per_fwd;
    if (a.total_batch % per_fwd != 0)
        fail("-d: %ld tokens per step is not a multiple of -b %d * -t %d * %d rank(s) = %ld",
             a.total_batch, a.B, a.T, ranks, per_fwd);
    return (int)(a.total_batch / per_fwd);
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
