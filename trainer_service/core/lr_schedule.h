// Learning-rate multiplier per optimizer step (reference §5): linear warmup, then cosine,
// linear or constant decay floored at min_lr_scale. Torch-free.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_LR_SCHEDULE_H_
#define JEPALAB_TRAINER_SERVICE_CORE_LR_SCHEDULE_H_

#include <cstdint>
#include <string>

namespace jepalab::trainer {

struct LrScheduleOptions {
  std::string name = "cosine";  // cosine | linear | constant
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_scale = 0.0;
};

// Multiplier of the base lr for optimizer step `step` (0-based: the first step uses step 0).
// s < warmup: (s+1)/warmup (no floor); else p = min(1, (s-warmup)/max(1, total-warmup)),
// cosine: max(min, (1+cos(pi p))/2), linear: max(min, 1-p), constant: 1.
double LrScale(const LrScheduleOptions& options, int64_t step);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_LR_SCHEDULE_H_
