// The removal schedule (docs/method.md §5): when each LayerNorm path goes from REAL to FROZEN.
// A group (ln2, ln1qk, ln1v) loses layer l at step start + l*gap; lnf goes at one step.
// Steps count from 1; a path scheduled at step k is FROZEN for every forward of step k on.
// The schedule only flips states and copies sigmas in from the EMA; kernels never see it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/ln_paths.h"
#include "train/sigma_ema.h"

namespace noln {

struct GroupSchedule {
    int start = 0;  // step at which layer 0 is removed; 0 = never
    int gap = 0;    // steps between consecutive layers (unused for a kind not per layer)
};

// One GroupSchedule per path kind, indexed by PathKind (host/ln_paths.h).
struct RemovalSchedule {
    GroupSchedule group[NUM_PATH_KINDS];

    GroupSchedule& at(PathKind k) { return group[k]; }
    const GroupSchedule& at(PathKind k) const { return group[k]; }
    // Step at which path (k, layer) is removed, 0 if never: start + layer*gap, in 64 bits
    // (start and gap go up to 1e9 each, so a late layer's step may lie far past any -x).
    int64_t step_for(PathKind k, int layer) const;
    // The last removal step for a depth-L model (0 when nothing is scheduled).
    int64_t last_step(int num_layers) const;
    bool any() const;
    bool operator==(const RemovalSchedule& o) const;
    // "ln2=20/2,ln1qk=44/2,ln1v=68/3,lnf=104" ("off" for a group never removed)
    std::string to_string() const;
};

// Parses the --remove override onto `s`: "ln2=START/GAP,ln1qk=START/GAP,ln1v=START/GAP,
// lnf=STEP", parts optional, any part may be "off". Throws naming `flag` on bad input.
void parse_removal_override(const std::string& text, RemovalSchedule& s, const std::string& flag);

// A path that froze this step, for the console and the log.
struct FreezeEvent {
    PathId path;
    float sigma, sigma_bos;
};

// Paths due at `step` (scheduled at or before it) that are still REAL.
std::vector<PathId> due_paths(const RemovalSchedule& s, int step, const LNState& ln);

// Freezes every due path with the EMA's current value (its own copy for ln1qk/ln1v).
// Throws if the EMA has no value yet for a due path: the loop runs a calibration forward
// first (see needs_calibration).
std::vector<FreezeEvent> apply_schedule(const RemovalSchedule& s, int step, LNState& ln,
                                        const SigmaEMA& ema);

// True when a path is due at `step` but its EMA has never seen an observation (a path
// removed at step 1): the loop must then run a forward on the first batch and give its
// observations to SigmaEMA::calibrate before apply_schedule.
bool needs_calibration(const RemovalSchedule& s, int step, const LNState& ln, const SigmaEMA& ema);

// Paper (a)'s special divisors: each is on for the steps before its "off" step
// (0 = never on). Sets ln.bos_special / ln.eot_special for `step`. With bos_ln1_only
// (paper (a)'s code, --bos-off-ln1-only), the BOS divisor stays on after its off step for
// ln2 and lnf, and only the ln_1 paths drop it: apply_bos_ln1_off below does that part.
void apply_specials(int bos_off_step, int eot_off_step, int step, LNState& ln, bool bos_ln1_only = false);
// With bos_ln1_only, from bos_off_step on: every FROZEN ln1qk/ln1v path divides position 0 by
// its sigma (sigma_bos := sigma), which is what switching the BOS rule off for it means. Run
// after apply_schedule, so a path frozen at or after the off step is covered too.
void apply_bos_ln1_off(int bos_off_step, int step, LNState& ln, bool bos_ln1_only);

// Whether some layer's ln_1 can be split (LNState::ln1_split) at some step of a run that
// starts from `start` and runs the schedule up to clock `last_step`, with the EOT divisor on
// at some step when eot_special: true when a pair is split at the start, or one of ln1qk[l],
// ln1v[l] freezes within the run while the other does not freeze at the same step (pairs
// freezing at one step copy one EMA value, so they split only through the EOT rule). The
// memory plan counts the V path's buffers exactly when this holds (train/plan.h).
bool ln1_split_possible(const RemovalSchedule& s, const LNState& start, int64_t last_step, bool eot_special);

// "ln2 12/12 ln1qk 4/12 ln1v 0/12 lnf 0/1"
std::string ln_summary(const LNState& ln);

}  // namespace noln
