#include "train/schedule.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "host/error.h"

namespace noln {

int64_t RemovalSchedule::step_for(PathKind k, int layer) const {
    const GroupSchedule& g = group[k];
    return g.start ? g.start + (PATH_KINDS[k].per_layer ? (int64_t)layer * g.gap : 0) : 0;
}

int64_t RemovalSchedule::last_step(int L) const {
    int64_t last = 0;
    for (int k = 0; k < NUM_PATH_KINDS; k++) last = std::max(last, step_for((PathKind)k, kind_count((PathKind)k, L) - 1));
    return last;
}

bool RemovalSchedule::any() const {
    for (const GroupSchedule& g : group)
        if (g.start) return true;
    return false;
}

bool RemovalSchedule::operator==(const RemovalSchedule& o) const {
    for (int k = 0; k < NUM_PATH_KINDS; k++)
        if (group[k].start != o.group[k].start || group[k].gap != o.group[k].gap) return false;
    return true;
}

// A per-layer kind prints START/GAP, the others STEP.
std::string RemovalSchedule::to_string() const {
    std::string out;
    for (int k = 0; k < NUM_PATH_KINDS; k++) {
        const GroupSchedule& g = group[k];
        out += k ? "," : "";
        out += PATH_KINDS[k].name;
        if (!g.start) out += "=off";
        else if (PATH_KINDS[k].per_layer) out += "=" + std::to_string(g.start) + "/" + std::to_string(g.gap);
        else out += "=" + std::to_string(g.start);
    }
    return out;
}

// A positive int with nothing after it, or throw naming the flag and the part.
static int parse_step(const std::string& s, const std::string& part, const std::string& flag,
                      bool allow_zero) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end || errno || v < (allow_zero ? 0 : 1) || v > 1000000000)
        fail("%s: bad value '%s' in '%s' (expected %s integer)", flag.c_str(), s.c_str(),
             part.c_str(), allow_zero ? "a non-negative" : "a positive");
    return (int)v;
}

void parse_removal_override(const std::string& text, RemovalSchedule& s, const std::string& flag) {
    if (text.empty()) fail("%s: empty schedule", flag.c_str());
    // "ln2=START/GAP, ln1qk=START/GAP, ln1v=START/GAP or lnf=STEP" and "ln2, ln1qk, ln1v or lnf"
    std::string expected, names;
    for (int k = 0; k < NUM_PATH_KINDS; k++) {
        const std::string sep = k == 0 ? "" : k + 1 == NUM_PATH_KINDS ? " or " : ", ";
        names += sep + PATH_KINDS[k].name;
        expected += sep + PATH_KINDS[k].name + (PATH_KINDS[k].per_layer ? "=START/GAP" : "=STEP");
    }
    bool seen[NUM_PATH_KINDS] = {};
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        std::string part = text.substr(pos, comma - pos);
        pos = comma + 1;
        size_t eq = part.find('=');
        if (eq == std::string::npos)
            fail("%s: '%s' is not NAME=VALUE (expected %s)", flag.c_str(), part.c_str(), expected.c_str());
        std::string name = part.substr(0, eq), val = part.substr(eq + 1);
        int k = 0;
        while (k < NUM_PATH_KINDS && name != PATH_KINDS[k].name) k++;
        if (k == NUM_PATH_KINDS)
            fail("%s: unknown path group '%s' (expected %s)", flag.c_str(), name.c_str(), names.c_str());
        if (seen[k]) fail("%s: %s is given twice in '%s'", flag.c_str(), name.c_str(), text.c_str());
        seen[k] = true;
        GroupSchedule& g = s.group[k];
        if (val == "off") {
            g = GroupSchedule{};
            continue;
        }
        if (!PATH_KINDS[k].per_layer) {
            g.start = parse_step(val, part, flag, false);
            continue;
        }
        size_t slash = val.find('/');
        if (slash == std::string::npos)
            fail("%s: '%s' needs START/GAP", flag.c_str(), part.c_str());
        g.start = parse_step(val.substr(0, slash), part, flag, false);
        g.gap = parse_step(val.substr(slash + 1), part, flag, true);
    }
}

std::vector<PathId> due_paths(const RemovalSchedule& s, int step, const LNState& ln) {
    std::vector<PathId> out;
    for (int i = 0; i < (int)ln.paths.size(); i++) {
        const PathId p = path_at(i, ln.num_layers());
        const int64_t at = s.step_for(p.kind, p.layer);
        if (at && at <= step && !ln.paths[i].frozen) out.push_back(p);
    }
    return out;
}

bool needs_calibration(const RemovalSchedule& s, int step, const LNState& ln, const SigmaEMA& ema) {
    for (const PathId& p : due_paths(s, step, ln))
        if (!ema.of(p.kind, p.layer).seen) return true;
    return false;
}

std::vector<FreezeEvent> apply_schedule(const RemovalSchedule& s, int step, LNState& ln,
                                        const SigmaEMA& ema) {
    std::vector<FreezeEvent> events;
    for (const PathId& id : due_paths(s, step, ln)) {
        const SiteEMA& e = ema.of(id.kind, id.layer);
        if (!e.seen)
            fail("schedule: %s is due at step %d but its sigma was never observed",
                 path_label(id).c_str(), step);
        LNPath& p = ln.path(id.kind, id.layer);
        p.frozen = true;
        p.sigma = e.sigma;
        p.sigma_bos = e.sigma_bos;
        events.push_back({id, p.sigma, p.sigma_bos});
    }
    return events;
}

bool ln1_split_possible(const RemovalSchedule& s, const LNState& start, int64_t last_step, bool eot_special) {
    LNState st = start;
    st.eot_special = st.eot_special || eot_special;
    if (st.any_ln1_split()) return true;
    for (int l = 0; l < st.num_layers(); l++) {
        // the step at which the path freezes within the run (0: it does not)
        auto freezes = [&](PathKind k) {
            const int64_t at = s.step_for(k, l);
            return !st.path(k, l).frozen && at && at <= last_step ? at : (int64_t)0;
        };
        const int64_t qk = freezes(PATH_LN1QK), v = freezes(PATH_LN1V);
        // not split at the start: both REAL, or both FROZEN alike (then neither freezes again)
        if (qk == v && (qk == 0 || !st.eot_special)) continue;
        return true;
    }
    return false;
}

void apply_specials(int bos_off, int eot_off, int step, LNState& ln, bool bos_ln1_only) {
    ln.bos_special = bos_off > 0 && (step < bos_off || bos_ln1_only);
    ln.eot_special = eot_off > 0 && step < eot_off;
}

void apply_bos_ln1_off(int bos_off, int step, LNState& ln, bool bos_ln1_only) {
    if (!bos_ln1_only || bos_off <= 0 || step < bos_off) return;
    for (PathKind k : {PATH_LN1QK, PATH_LN1V})
        for (int l = 0; l < ln.paths_in(k); l++) {
            LNPath& p = ln.path(k, l);
            if (p.frozen) p.sigma_bos = p.sigma;
        }
}

std::string ln_summary(const LNState& ln) {
    std::string out;
    for (int k = 0; k < NUM_PATH_KINDS; k++) {
        if (k) out += ' ';
        out += PATH_KINDS[k].name;
        out += ' ' + std::to_string(ln.frozen_count((PathKind)k)) + '/' +
               std::to_string(ln.paths_in((PathKind)k));
    }
    return out;
}

}  // namespace noln
