// Dropout for the CPU hot path. torch::dropout draws its mask with bernoulli_, one serial
// mt19937 draw per element: on the mini model that was the largest single cost of a training
// step (docs/performance.md). This draws the same distribution (keep with probability 1 - p,
// scale kept values by 1 / (1 - p)) from a counter-based hash of one 64-bit seed, which is taken
// from the default CPU generator: masks stay reproducible, checkpoint/resume keeps them exact,
// and the mask does not depend on the thread count. Other devices use torch::dropout.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_FAST_DROPOUT_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_FAST_DROPOUT_H_

#include <cstdint>

#include <torch/types.h>

namespace jepalab::trainer {

// x unchanged when !training or p == 0; otherwise x * mask / (1 - p) with mask ~ Bernoulli(1 - p).
torch::Tensor FastDropout(const torch::Tensor& x, double p, bool training);

// The {0, scale} mask FastDropout multiplies by: element i is kept when Hash(seed, i) >= p·2^32.
// Exposed for tests.
torch::Tensor DropoutMask(torch::IntArrayRef shape, double p, uint64_t seed);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_FAST_DROPOUT_H_
