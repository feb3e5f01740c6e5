// The LayerNorm paths (docs/method.md §1-3) as ONE indexed table: the path kinds and their
// names, the sites where sigma is observed, the per-path state (REAL or FROZEN, sigma,
// sigma_bos), the observations, the frozen-divisor rule and the LN epsilon. Everything that
// stores, sends, logs or estimates per-path or per-site values iterates the two orders
// defined here, so no other file lists the paths:
//   path order  ln2[0..L-1], ln1qk[0..L-1], ln1v[0..L-1], lnf   (kind-major, PATH_KINDS order)
//     used by: the model-file LN trailer, the training-state file, main.jsonl, the removal
//     schedule, the CUDA model's one device copy of the state, the tests' flattening;
//   site order  ln1[0], ln2[0], ln1[1], ln2[1], ..., lnf        (layer-major, SITE_KINDS order)
//     used by: SigmaObs, SigmaEMA and its part of the training-state file, the one MPI
//     allreduce of the observations, the CUDA model's device observation array.
// A site is an LN input; the ln1qk and ln1v paths of a block share the site ln1[l].
// Both orders are part of the file formats (docs/formats.md "The LN trailer",
// docs/training.md "Checkpoints"): changing them breaks existing checkpoints.
//
// Adding a path variant means only:
//   1. its PathKind (appended before NUM_PATH_KINDS, so earlier kinds keep their place in
//      the path order) and its PATH_KINDS row (name, per layer or not, the site it normalises,
//      whether the EOT rule applies), and a SiteKind if it reads a new input;
//   2. the maths in each backend: cpu/gpt2_core.cpp and cuda/gpt2_cuda.cuh (which
//      activation it normalises, where its output goes), through ln_frozen_divisor below;
//   3. the PyTorch reference, scripts/torch_gpt2.py;
//   4. the Hugging Face export, eval/export_hf.cpp.
// Files, logs, the schedule, the EMA, MPI, the device copies and the tests' flattening follow
// the table. The files store num_paths(L) path records and num_sites(L) EMA records with
// no per-kind tags, so a new kind changes the counts: bump LN_TRAILER_VERSION and
// TRAIN_STATE_VERSION and read the older versions with the older counts.
#pragma once
#include <string>
#include <vector>

// __host__ __device__ where the compiler knows CUDA (nvcc, emu/nvcc-emu), nothing in a plain
// C++ build, so cpu/ and kernels/ share one definition.
#if defined(__CUDACC__)
#define LN_HOST_DEVICE __host__ __device__
#else
#define LN_HOST_DEVICE
#endif

namespace noln {

// The LayerNorm epsilon of both backends and the tests (population variance, as GPT-2):
// REAL rstd = 1/sqrt(var + LN_EPS), observed sd = sqrt(var + LN_EPS). The CPU computes in
// double with this value; fp32 code uses (float)LN_EPS, which is exactly 1e-5f.
constexpr double LN_EPS = 1e-5;
// The LN-free Hugging Face form (docs/export.md, "the eps trick"): layer_norm_epsilon 1e12
// and every LayerNorm gamma multiplied by 1e6/sigma, so the stock module divides by sigma.
// Our export writes it and our import recognises it (as FROZEN paths).
constexpr double LNFREE_EPS = 1e12;
constexpr double LNFREE_SCALE = 1e6;  // sqrt(LNFREE_EPS)

enum PathKind { PATH_LN2 = 0, PATH_LN1QK = 1, PATH_LN1V = 2, PATH_LNF = 3, NUM_PATH_KINDS = 4 };
enum SiteKind { SITE_LN1 = 0, SITE_LN2 = 1, SITE_LNF = 2, NUM_SITE_KINDS = 3 };

struct PathKindInfo {
    const char* name;  // in flags, logs, main.jsonl and error messages
    bool per_layer;    // one path per block (else one for the model)
    SiteKind site;     // the input it normalises, where its sigma is observed
    bool eot_rule;     // FROZEN with eot_special on: tokens == eot_token use sigma_bos
};
constexpr PathKindInfo PATH_KINDS[NUM_PATH_KINDS] = {
    {"ln2", true, SITE_LN2, false},    // the MLP input
    {"ln1qk", true, SITE_LN1, false},  // the Q and K columns of the QKV projection
    {"ln1v", true, SITE_LN1, true},    // the V columns
    {"lnf", false, SITE_LNF, false},   // the unembedding
};

struct SiteKindInfo {
    const char* name;
    bool per_layer;
};
constexpr SiteKindInfo SITE_KINDS[NUM_SITE_KINDS] = {{"ln1", true}, {"ln2", true}, {"lnf", false}};

// ---- the two orders (see the top of this file) ----

inline int kind_count(PathKind k, int L) { return PATH_KINDS[k].per_layer ? L : 1; }
inline int num_paths(int L) {
    int n = 0;
    for (int k = 0; k < NUM_PATH_KINDS; k++) n += kind_count((PathKind)k, L);
    return n;
}
// Index of path (k, layer) in path order; layer is ignored for a kind that is not per layer.
inline int path_index(PathKind k, int layer, int L) {
    int i = 0;
    for (int j = 0; j < k; j++) i += kind_count((PathKind)j, L);
    return i + (PATH_KINDS[k].per_layer ? layer : 0);
}
struct PathId {
    PathKind kind;
    int layer;  // 0 for a kind that is not per layer
};
inline PathId path_at(int index, int L) {
    for (int k = 0; k < NUM_PATH_KINDS; k++) {
        const int n = kind_count((PathKind)k, L);
        if (index < n) return {(PathKind)k, index};
        index -= n;
    }
    return {NUM_PATH_KINDS, 0};  // out of range: callers index within num_paths(L)
}
// "ln2[3]", "lnf"
inline std::string path_label(PathId p) {
    const PathKindInfo& k = PATH_KINDS[p.kind];
    return k.per_layer ? std::string(k.name) + "[" + std::to_string(p.layer) + "]" : k.name;
}

// Site order: for each layer the per-layer sites in SITE_KINDS order, then the others.
inline int per_layer_site_count() {
    int n = 0;
    for (const SiteKindInfo& s : SITE_KINDS) n += s.per_layer;
    return n;
}
inline int num_sites(int L) { return per_layer_site_count() * L + (NUM_SITE_KINDS - per_layer_site_count()); }
inline int site_index(SiteKind s, int layer, int L) {
    int before = 0;  // sites of the same group (per layer or not) earlier in SITE_KINDS
    for (int j = 0; j < s; j++) before += SITE_KINDS[j].per_layer == SITE_KINDS[s].per_layer;
    return SITE_KINDS[s].per_layer ? layer * per_layer_site_count() + before
                                   : per_layer_site_count() * L + before;
}
// site_index, or num_sites(L) (out of range) for a layer outside [0, L) of a per-layer site
inline int checked_site_index(SiteKind s, int layer, int L) {
    return SITE_KINDS[s].per_layer && (layer < 0 || layer >= L) ? num_sites(L) : site_index(s, layer, L);
}
// The site path (k, layer) normalises.
inline int site_of(PathKind k, int layer, int L) { return site_index(PATH_KINDS[k].site, layer, L); }

// ---- per-path state ----

struct LNPath {
    bool frozen = false;     // false: REAL, y = (x-mean)/sqrt(var+eps)*g+b; true: FROZEN, /sigma
    float sigma = 1.0f;      // the frozen divisor (used only when frozen)
    float sigma_bos = 1.0f;  // the special divisor (used only when frozen and a special is on)
};

struct LNState {
    std::vector<LNPath> paths;  // num_paths(L), in path order
    // Paper (a)'s optional special divisors, applied to FROZEN paths only:
    bool bos_special = false;  // position 0 of every sequence is divided by sigma_bos
    bool eot_special = false;  // on paths with the EOT rule, tokens == eot_token use sigma_bos
    int eot_token = 50256;

    LNState() = default;
    explicit LNState(int num_layers) : paths(num_paths(num_layers)), L_(num_layers) {}
    int num_layers() const { return L_; }
    // std::out_of_range for a layer outside [0, L) of a per-layer kind
    LNPath& path(PathKind k, int layer = 0) { return paths.at(slot(k, layer)); }
    const LNPath& path(PathKind k, int layer = 0) const { return paths.at(slot(k, layer)); }
    int paths_in(PathKind k) const { return kind_count(k, L_); }
    int frozen_count(PathKind k) const {
        int n = 0;
        for (int l = 0; l < paths_in(k); l++) n += path(k, l).frozen;
        return n;
    }
    bool all_frozen() const {
        for (const LNPath& p : paths)
            if (!p.frozen) return false;
        return true;
    }
    bool all_real() const {
        for (const LNPath& p : paths)
            if (p.frozen) return false;
        return true;
    }
    // ln1qk[l] and ln1v[l] differ: the attention input is normalised twice (split QKV)
    bool ln1_split(int layer) const {
        const LNPath &a = path(PATH_LN1QK, layer), &b = path(PATH_LN1V, layer);
        if (a.frozen != b.frozen) return true;
        if (!a.frozen) return false;
        // the EOT rule touches ln1v only, so it splits a block whose paths are otherwise equal
        return a.sigma != b.sigma || a.sigma_bos != b.sigma_bos || eot_special;
    }
    // some layer's ln_1 is split (the V path's buffers are needed)
    bool any_ln1_split() const {
        for (int l = 0; l < L_; l++)
            if (ln1_split(l)) return true;
        return false;
    }

private:
    int L_ = 0;
    size_t slot(PathKind k, int layer) const {
        const bool bad = PATH_KINDS[k].per_layer && (layer < 0 || layer >= L_);
        return bad ? paths.size() : (size_t)path_index(k, layer, L_);
    }
};

// One path as both backends' LN code reads it: plain ints and floats (one POD copy per
// path to the device), the specials resolved for this path.
struct LNPathParams {
    int frozen;       // 0 REAL, 1 FROZEN
    float sigma;      // FROZEN divisor
    float sigma_bos;  // FROZEN divisor at position 0 / EOT tokens when a special is on
    int bos_special;  // position 0 of each sequence uses sigma_bos
    int eot_special;  // tokens equal to eot_token use sigma_bos (paths with the EOT rule)
    int eot_token;
};
// Path `index` (path order) of s.
inline LNPathParams ln_path_params(const LNState& s, int index) {
    const LNPath& p = s.paths.at(index);
    LNPathParams d;
    d.frozen = p.frozen ? 1 : 0;
    d.sigma = p.sigma;
    d.sigma_bos = p.sigma_bos;
    d.bos_special = s.bos_special ? 1 : 0;
    d.eot_special = (s.eot_special && PATH_KINDS[path_at(index, s.num_layers()).kind].eot_rule) ? 1 : 0;
    d.eot_token = s.eot_token;
    return d;
}

// THE frozen-divisor rule (docs/method.md §2): a FROZEN path divides the token at position
// `pos` of its sequence, whose input id is `token` (-1: unknown), by
//   sigma_bos  if bos_special and pos == 0, or eot_special and token == eot_token;
//   sigma      otherwise.
LN_HOST_DEVICE inline float ln_frozen_divisor(const LNPathParams& p, int pos, int token) {
    if (p.bos_special && pos == 0) return p.sigma_bos;
    if (p.eot_special && token >= 0 && token == p.eot_token) return p.sigma_bos;
    return p.sigma;
}

// ---- observations (docs/method.md §3) ----

// What one forward pass observed at one site's input, whatever its paths' states: the mean
// over all (b, t) of the per-token std sqrt(var_t + eps), and the same mean over position 0
// only (for the BOS divisor). Two floats, so an array of them is the device's layout too.
struct SiteObs {
    float sigma = 0.0f;
    float sigma_bos = 0.0f;
};

struct SigmaObs {
    std::vector<SiteObs> sites;  // num_sites(L), in site order
    SigmaObs() = default;
    explicit SigmaObs(int num_layers) : sites(num_sites(num_layers)), L_(num_layers) {}
    int num_layers() const { return L_; }
    SiteObs& at(SiteKind s, int layer = 0) { return sites.at(checked_site_index(s, layer, L_)); }
    const SiteObs& at(SiteKind s, int layer = 0) const { return sites.at(checked_site_index(s, layer, L_)); }

private:
    int L_ = 0;
};

}  // namespace noln
