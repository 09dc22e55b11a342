// Early stopping on the validation loss (reference §5, early_stopping.py). Torch-free.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_EARLY_STOPPING_H_
#define JEPALAB_TRAINER_SERVICE_CORE_EARLY_STOPPING_H_

#include <optional>
#include <string>

namespace jepalab::trainer {

// Thread-compatible.
class EarlyStopping {
 public:
  // mode "min" (lower is better) or "max". With enabled = false the best value is still
  // tracked but ShouldStop() never turns true.
  EarlyStopping(bool enabled, int patience, double min_delta, std::string mode)
      : enabled_(enabled), patience_(patience), min_delta_(min_delta), mode_(std::move(mode)) {}

  // Records one epoch's value. Improvement iff better than best by more than min_delta (the
  // first value always improves); otherwise the wait count grows. Returns true on improvement.
  bool Update(double value);
  bool ShouldStop() const { return enabled_ && wait_ >= patience_; }
  std::optional<double> best() const { return best_; }
  int wait() const { return wait_; }
  // Restores the state (resuming from a checkpoint).
  void Restore(std::optional<double> best, int wait) {
    best_ = best;
    wait_ = wait;
  }

 private:
  bool enabled_;
  int patience_;
  double min_delta_;
  std::string mode_;
  std::optional<double> best_;
  int wait_ = 0;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_EARLY_STOPPING_H_
