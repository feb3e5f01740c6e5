// The state of every LayerNorm path (docs/method.md §1-2): which paths are REAL and which are
// FROZEN, and the frozen divisors. The host schedule owns one LNState and hands it to the
// backend before each forward; kernels never know the step.
#pragma once
#include <vector>

namespace noln {

enum PathKind { PATH_LN2 = 0, PATH_LN1QK = 1, PATH_LN1V = 2, PATH_LNF = 3 };
constexpr int NUM_PATH_KINDS = 4;
extern const char* const PATH_NAMES[NUM_PATH_KINDS];  // "ln2", "ln1qk", "ln1v", "lnf"

struct LNPath {
    bool frozen = false;     // false: REAL, y = (x-mean)/sqrt(var+eps)*g+b; true: FROZEN, /sigma
    float sigma = 1.0f;      // the frozen divisor (used only when frozen)
    float sigma_bos = 1.0f;  // the special divisor (used only when frozen and a special is on)
};

struct LNState {
    std::vector<LNPath> ln2, ln1qk, ln1v;  // one per layer
    LNPath lnf;
    // Paper (a)'s optional special divisors, applied to FROZEN paths only:
    bool bos_special = false;  // position 0 of every sequence is divided by sigma_bos
    bool eot_special = false;  // on ln1v paths, tokens equal to eot_token are divided by sigma_bos
    int eot_token = 50256;

    LNState() = default;
    explicit LNState(int num_layers) : ln2(num_layers), ln1qk(num_layers), ln1v(num_layers) {}
    int num_layers() const { return (int)ln2.size(); }
    // layer is ignored for PATH_LNF
    LNPath& path(PathKind k, int layer);
    const LNPath& path(PathKind k, int layer) const;
    int paths_in(PathKind k) const { return k == PATH_LNF ? 1 : num_layers(); }
    int frozen_count(PathKind k) const;
    bool all_frozen() const;
    bool all_real() const;
    // ln1qk[l] and ln1v[l] differ: the attention input is normalised twice (split QKV)
    bool ln1_split(int layer) const;
};

// What one forward pass observed at each LayerNorm site's input, whatever the path's state:
// the mean over all (b, t) of the per-token std sqrt(var_t + eps) (docs/method.md §3), and the
// same mean over position 0 only (for the BOS divisor). ln1 is the input shared by the
// ln1qk and ln1v paths of a block.
struct SigmaObs {
    std::vector<float> ln1, ln2;          // per layer
    float lnf = 0.0f;
    std::vector<float> ln1_bos, ln2_bos;  // per layer, position 0 only
    float lnf_bos = 0.0f;
    SigmaObs() = default;
    explicit SigmaObs(int L) : ln1(L), ln2(L), ln1_bos(L), ln2_bos(L) {}
};

}  // namespace noln
