#include "trainer_service/core/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace jepalab::trainer {

double LrScale(const LrScheduleOptions& options, int64_t step) {
  // The floor does not apply during warmup (reference §5, optimization.py).
  if (step < options.warmup_steps) {
    return static_cast<double>(step + 1) / static_cast<double>(options.warmup_steps);
  }
  if (options.name == "constant") return 1.0;
  const double p = std::min(1.0, static_cast<double>(step - options.warmup_steps) /
                                     static_cast<double>(std::max<int64_t>(
                                         1, options.total_steps - options.warmup_steps)));
  const double decayed = options.name == "linear" ? 1.0 - p : 0.5 * (1.0 + std::cos(M_PI * p));
  return std::max(options.min_lr_scale, decayed);
}

}  // namespace jepalab::trainer
