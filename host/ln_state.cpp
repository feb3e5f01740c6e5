#include "host/ln_state.h"

namespace noln {

const char* const PATH_NAMES[NUM_PATH_KINDS] = {"ln2", "ln1qk", "ln1v", "lnf"};

LNPath& LNState::path(PathKind k, int layer) {
    switch (k) {
        case PATH_LN2: return ln2.at(layer);
        case PATH_LN1QK: return ln1qk.at(layer);
        case PATH_LN1V: return ln1v.at(layer);
        default: return lnf;
    }
}

const LNPath& LNState::path(PathKind k, int layer) const {
    return const_cast<LNState*>(this)->path(k, layer);
}

int LNState::frozen_count(PathKind k) const {
    int n = 0;
    for (int l = 0; l < paths_in(k); l++) n += path(k, l).frozen;
    return n;
}

bool LNState::all_frozen() const {
    for (int k = 0; k < NUM_PATH_KINDS; k++)
        if (frozen_count((PathKind)k) != paths_in((PathKind)k)) return false;
    return true;
}

bool LNState::all_real() const {
    for (int k = 0; k < NUM_PATH_KINDS; k++)
        if (frozen_count((PathKind)k) != 0) return false;
    return true;
}

bool LNState::ln1_split(int l) const {
    const LNPath &a = ln1qk.at(l), &b = ln1v.at(l);
    if (a.frozen != b.frozen) return true;
    if (!a.frozen) return false;
    // the EOT rule touches ln1v only, so it splits a block whose paths are otherwise equal
    return a.sigma != b.sigma || a.sigma_bos != b.sigma_bos || eot_special;
}

}  // namespace noln
