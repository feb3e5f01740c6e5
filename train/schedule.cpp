#include "train/schedule.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "host/error.h"

namespace noln {

static const GroupSchedule& group(const RemovalSchedule& s, PathKind k) {
    return k == PATH_LN2 ? s.ln2 : k == PATH_LN1QK ? s.ln1qk : s.ln1v;
}

int RemovalSchedule::step_for(PathKind k, int layer) const {
    if (k == PATH_LNF) return lnf;
    const GroupSchedule& g = group(*this, k);
    return g.start ? g.start + layer * g.gap : 0;
}

int RemovalSchedule::last_step(int L) const {
    int last = lnf;
    for (int k = 0; k < PATH_LNF; k++) {
        int s = step_for((PathKind)k, L - 1);
        if (s > last) last = s;
    }
    return last;
}

bool RemovalSchedule::operator==(const RemovalSchedule& o) const {
    auto eq = [](const GroupSchedule& a, const GroupSchedule& b) {
        return a.start == b.start && a.gap == b.gap;
    };
    return eq(ln2, o.ln2) && eq(ln1qk, o.ln1qk) && eq(ln1v, o.ln1v) && lnf == o.lnf;
}

std::string RemovalSchedule::to_string() const {
    std::string out;
    for (int k = 0; k < PATH_LNF; k++) {
        const GroupSchedule& g = group(*this, (PathKind)k);
        out += PATH_NAMES[k];
        out += g.start ? "=" + std::to_string(g.start) + "/" + std::to_string(g.gap) : "=off";
        out += ",";
    }
    out += lnf ? "lnf=" + std::to_string(lnf) : "lnf=off";
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
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        std::string part = text.substr(pos, comma - pos);
        pos = comma + 1;
        size_t eq = part.find('=');
        if (eq == std::string::npos)
            fail("%s: '%s' is not NAME=VALUE (expected ln2=START/GAP, ln1qk=START/GAP, "
                 "ln1v=START/GAP or lnf=STEP)", flag.c_str(), part.c_str());
        std::string name = part.substr(0, eq), val = part.substr(eq + 1);
        if (name == "lnf") {
            s.lnf = val == "off" ? 0 : parse_step(val, part, flag, false);
            continue;
        }
        GroupSchedule* g = name == "ln2" ? &s.ln2 : name == "ln1qk" ? &s.ln1qk
                         : name == "ln1v" ? &s.ln1v : nullptr;
        if (!g) fail("%s: unknown path group '%s' (expected ln2, ln1qk, ln1v or lnf)",
                     flag.c_str(), name.c_str());
        if (val == "off") {
            *g = GroupSchedule{};
            continue;
        }
        size_t slash = val.find('/');
        if (slash == std::string::npos)
            fail("%s: '%s' needs START/GAP", flag.c_str(), part.c_str());
        g->start = parse_step(val.substr(0, slash), part, flag, false);
        g->gap = parse_step(val.substr(slash + 1), part, flag, true);
    }
}

std::vector<std::pair<PathKind, int>> due_paths(const RemovalSchedule& s, int step,
                                                const LNState& ln) {
    std::vector<std::pair<PathKind, int>> out;
    for (int k = 0; k < NUM_PATH_KINDS; k++)
        for (int l = 0; l < ln.paths_in((PathKind)k); l++) {
            int at = s.step_for((PathKind)k, l);
            if (at && at <= step && !ln.path((PathKind)k, l).frozen) out.push_back({(PathKind)k, l});
        }
    return out;
}

bool needs_calibration(const RemovalSchedule& s, int step, const LNState& ln, const SigmaEMA& ema) {
    for (auto [k, l] : due_paths(s, step, ln))
        if (!ema.seen(k, l)) return true;
    return false;
}

std::vector<FreezeEvent> apply_schedule(const RemovalSchedule& s, int step, LNState& ln,
                                        const SigmaEMA& ema) {
    std::vector<FreezeEvent> events;
    for (auto [k, l] : due_paths(s, step, ln)) {
        if (!ema.seen(k, l))
            fail("schedule: %s[%d] is due at step %d but its sigma was never observed",
                 PATH_NAMES[k], l, step);
        LNPath& p = ln.path(k, l);
        p.frozen = true;
        p.sigma = ema.value(k, l);
        p.sigma_bos = ema.value_bos(k, l);
        events.push_back({k, l, p.sigma, p.sigma_bos});
    }
    return events;
}

void apply_specials(int bos_off, int eot_off, int step, LNState& ln) {
    ln.bos_special = bos_off > 0 && step < bos_off;
    ln.eot_special = eot_off > 0 && step < eot_off;
}

std::string ln_summary(const LNState& ln) {
    std::string out;
    for (int k = 0; k < NUM_PATH_KINDS; k++) {
        if (k) out += ' ';
        out += PATH_NAMES[k];
        out += ' ' + std::to_string(ln.frozen_count((PathKind)k)) + '/' +
               std::to_string(ln.paths_in((PathKind)k));
    }
    return out;
}

}  // namespace noln
