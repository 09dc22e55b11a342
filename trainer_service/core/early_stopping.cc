#include "trainer_service/core/early_stopping.h"

namespace jepalab::trainer {

bool EarlyStopping::Update(double value) {
  const bool improved = !best_.has_value() || (mode_ == "max" ? value > *best_ + min_delta_
                                                              : value < *best_ - min_delta_);
  if (improved) {
    best_ = value;
    wait_ = 0;
  } else {
    ++wait_;
  }
  return improved;
}

}  // namespace jepalab::trainer
