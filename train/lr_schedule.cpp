#include "train/lr_schedule.h"

#include <cmath>

namespace noln {

float LRSchedule::at(int step) const {
    if (warmup > 0 && step <= warmup) return (float)((double)lr * step / warmup);
    const double lo = (double)lr * final_frac;
    if (step >= horizon || horizon <= warmup) return (float)lo;
    // progress 0 just after warmup ends, 1 at the horizon
    double p = (double)(step - warmup) / (double)(horizon - warmup);
    return (float)(lo + 0.5 * ((double)lr - lo) * (1.0 + std::cos(M_PI * p)));
}

}  // namespace noln
