#include "trainer_service/core/autocast.h"

#include <ATen/autocast_mode.h>

namespace jepalab::trainer {

ScopedCudaBf16Autocast::ScopedCudaBf16Autocast(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_enabled_ = at::autocast::is_enabled();
  previous_dtype_ = static_cast<int8_t>(at::autocast::get_autocast_gpu_dtype());
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
  at::autocast::increment_nesting();
}

ScopedCudaBf16Autocast::~ScopedCudaBf16Autocast() {
  if (!enabled_) return;
  // As torch.autocast's __exit__: drop the cached low-precision weight copies at the outermost
  // exit.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_enabled(previous_enabled_);
  at::autocast::set_autocast_gpu_dtype(static_cast<at::ScalarType>(previous_dtype_));
}

}  // namespace jepalab::trainer
