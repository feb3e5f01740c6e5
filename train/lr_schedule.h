// The learning rate at each step (steps count from 1):
//   step <= warmup:          lr * step / warmup
//   warmup < step < horizon: cosine from lr down to lr*final_frac at the horizon
//   step >= horizon:         lr * final_frac (clamped)
// warmup 0 and final_frac 1 give a constant lr.
#pragma once

namespace noln {

struct LRSchedule {
    float lr = 3e-4f;
    int warmup = 0;
    float final_frac = 1.0f;  // -q: the final lr as a fraction of lr
    int horizon = 0;          // the step at which the cosine reaches lr*final_frac

    float at(int step) const;
};

}  // namespace noln
