// bf16 autocast for the CUDA forward pass (training.mixed_precision: bf16). While a guard with
// `enabled` is alive, CUDA ops run under torch's autocast with bfloat16 as the low-precision
// type (matmuls and linears in bf16, reductions and losses in fp32 as torch's op lists say);
// backward and the optimizer run outside it. CPU ops are never affected: CPU autocast is a
// separate switch that this does not touch. Untested on a GPU (none was available), see
// docs/performance.md.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_AUTOCAST_H_
#define JEPALAB_TRAINER_SERVICE_CORE_AUTOCAST_H_

#include <cstdint>

namespace jepalab::trainer {

class ScopedCudaBf16Autocast {
 public:
  explicit ScopedCudaBf16Autocast(bool enabled);
  ~ScopedCudaBf16Autocast();
  ScopedCudaBf16Autocast(const ScopedCudaBf16Autocast&) = delete;
  ScopedCudaBf16Autocast& operator=(const ScopedCudaBf16Autocast&) = delete;

 private:
  bool enabled_;
  bool previous_enabled_ = false;
  int8_t previous_dtype_ = 0;  // at::ScalarType, kept as an integer so this header needs no ATen
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_AUTOCAST_H_
