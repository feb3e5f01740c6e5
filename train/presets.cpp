#include "train/presets.h"

#include <cmath>
#include <cstdio>

namespace noln {

namespace {

// A float flag value that reads back exactly (%.9g round-trips a float).
std::string exact(float x) {
    char b[32];
    snprintf(b, sizeof b, "%.9g", x);
    return b;
}
// -q for a schedule published as peak and final learning rate: final / peak, in double,
// rounded to float once.
std::string final_frac(float min_lr, float lr) { return exact((float)((double)min_lr / (double)lr)); }

// Paper (b)'s momenta for Large and XL: 0.9 per 32 sequences, rescaled to their batches.
const std::string M_LARGE = exact((float)std::pow(0.9, 28.0 / 32.0));
const std::string M_XL = exact((float)std::pow(0.9, 18.0 / 32.0));

// The optimizer every paper run shares: AdamW beta1 0.9, epsilon 1e-8, clip at norm 1; and
// the defaults that only paper (a)'s preset changes (GELU, step numbering, special divisors).
using Flags = std::vector<std::pair<std::string, std::string>>;

const Flags ADAM = {
    {"--beta1", "0.9"}, {"--adam-eps", "1e-8"}, {"--grad-clip", "1"},
    {"--gelu", "tanh"}, {"--zero-based-steps", "0"},
    {"--bos-sigma-off", "0"}, {"--eot-sigma-off", "0"}, {"--bos-off-ln1-only", "0"}};

Flags with_adam(Flags f) {
    f.insert(f.end(), ADAM.begin(), ADAM.end());
    return f;
}

// f with flag's value replaced
Flags with(Flags f, const std::string& flag, const std::string& value) {
    for (auto& [name, v] : f)
        if (name == flag) v = value;
    return f;
}
Flags with(Flags f, const Flags& changes) {
    for (const auto& [flag, value] : changes) f = with(f, flag, value);
    return f;
}

const Flags PAPER_B_SMALL =
    with_adam({{"--remove", "ln2=20/2,ln1qk=44/2,ln1v=68/3,lnf=104"},
               {"-x", "300"}, {"--lr-horizon", "300"}, {"-d", "524288"}, {"-b", "0"}, {"-t", "1024"},
               {"-l", "6e-4"}, {"-q", final_frac(3e-4f, 6e-4f)}, {"-u", "25"}, {"-c", "0.01"},
               {"--beta2", "0.999"}, {"--aux-lambda", "0.1"}, {"--sigma-momentum", "0.9"}, {"--sigma-momentum-seqs", "32"}});

const std::vector<Preset> PRESETS = {
    // Paper (a)'s code as it ran (docs/method.md §5): 0-based iterations, the erf GELU of
    // nanoGPT, the BOS/EOT divisors switched off at iterations 1160/1060, the BOS one for
    // the ln_1 paths only.
    {"paper-a-small", "paper (a), GPT-2 Small: fixed sigmas (momentum 1), no aux loss, its code's timing, GELU and divisors",
     with(with_adam({{"--remove", "ln2=200/20,ln1qk=440/20,ln1v=680/30,lnf=1040"},
                     {"-x", "1200"}, {"--lr-horizon", "2000"}, {"-d", "491520"}, {"-b", "0"}, {"-t", "1024"},
                     {"-l", "6e-4"}, {"-q", final_frac(6e-5f, 6e-4f)}, {"-u", "100"}, {"-c", "0.1"},
                     {"--beta2", "0.95"}, {"--aux-lambda", "0"}, {"--sigma-momentum", "1"}, {"--sigma-momentum-seqs", "0"}}),
          {{"--gelu", "erf"}, {"--zero-based-steps", "1"}, {"--eot-sigma-off", "1060"},
           {"--bos-sigma-off", "1160"}, {"--bos-off-ln1-only", "1"}})},
    {"paper-b-small", "paper (b), GPT-2 Small", PAPER_B_SMALL},
    {"paper-b-medium", "paper (b), GPT-2 Medium",
     with_adam({{"--remove", "ln2=20/2,ln1qk=68/2,ln1v=116/3,lnf=188"},
                {"-x", "500"}, {"--lr-horizon", "500"}, {"-d", "518144"}, {"-b", "0"}, {"-t", "1024"},
                {"-l", "6e-4"}, {"-q", final_frac(3e-4f, 6e-4f)}, {"-u", "10"}, {"-c", "0.01"},
                {"--beta2", "0.999"}, {"--aux-lambda", "0.1"}, {"--sigma-momentum", "0.9"}, {"--sigma-momentum-seqs", "32"}})},
    {"paper-b-large", "paper (b), GPT-2 Large",
     with_adam({{"--remove", "ln2=30/4,ln1qk=174/4,ln1v=318/6,lnf=534"},
                {"-x", "600"}, {"--lr-horizon", "1200"}, {"-d", "516096"}, {"-b", "0"}, {"-t", "1024"},
                {"-l", "3e-4"}, {"-q", final_frac(4e-5f, 3e-4f)}, {"-u", "15"}, {"-c", "0.01"},
                {"--beta2", "0.999"}, {"--aux-lambda", "0.03"}, {"--sigma-momentum", M_LARGE}, {"--sigma-momentum-seqs", "28"}})},
    {"paper-b-xl", "paper (b), GPT-2 XL",
     with_adam({{"--remove", "ln2=50/4,ln1qk=242/4,ln1v=434/6,lnf=722"},
                {"-x", "800"}, {"--lr-horizon", "1200"}, {"-d", "516096"}, {"-b", "0"}, {"-t", "1024"},
                {"-l", "1e-4"}, {"-q", final_frac(2e-5f, 1e-4f)}, {"-u", "20"}, {"-c", "0.01"},
                {"--beta2", "0.999"}, {"--aux-lambda", "0.01"}, {"--sigma-momentum", M_XL}, {"--sigma-momentum-seqs", "18"}})},
    {"vanilla", "paper (b) Small's hyperparameters with every LayerNorm kept (the control run)",
     with(PAPER_B_SMALL, "--remove", "ln2=off,ln1qk=off,ln1v=off,lnf=off")},
    // The CPU demo (docs/demo.md): a d4 model 64 wide, T=64, 1024 tokens/step (the 50257-word
    // unembedding makes every token expensive on a CPU); paper (b)'s shape squeezed into
    // 80 steps (ln2 first, ln1v with the longest gap, lnf last, then steps to heal).
    {"tiny", "CPU demo: small models, T=64, removal squeezed into 80 steps",
     with_adam({{"--remove", "ln2=10/2,ln1qk=20/2,ln1v=30/3,lnf=45"},
                {"-x", "80"}, {"--lr-horizon", "80"}, {"-d", "1024"}, {"-b", "16"}, {"-t", "64"},
                {"-l", "1e-3"}, {"-q", final_frac(2e-4f, 1e-3f)}, {"-u", "5"}, {"-c", "0.01"},
                {"--beta2", "0.999"}, {"--aux-lambda", "0.1"}, {"--sigma-momentum", "0.9"}, {"--sigma-momentum-seqs", "0"}})},
};

}  // namespace

const std::vector<Preset>& presets() { return PRESETS; }

const Preset* find_preset(const std::string& name) {
    for (const Preset& p : PRESETS)
        if (name == p.name) return &p;
    return nullptr;
}

std::string preset_names() {
    std::string out;
    for (const Preset& p : PRESETS) out += (out.empty() ? "" : "|") + std::string(p.name);
    return out;
}

}  // namespace noln
