// Dropout for the CPU hot path. torch::dropout draws its mask with bernoulli_, one serial
// mt19937 draw per element: on the mini model that was the largest single cost of a training
// step (docs/performance.md). This draws the same distribution (keep with probability 1 - p,
// scale kept values by 1 / (1 - p)) from a counter-based hash of one 64-bit seed, which is taken
// from the default CPU generator: masks stay reproducible, checkpoint/resume keeps them exact,
// and the mask does not depend on the thread count. Other devices use torch::dropout.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_FAST_DROPOUT_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_FAST_DROPOUT_H_

#include <torch/types.h>

#include <cstdint>

namespace jepalab::trainer {

// The mask of one dropout call: element i of the dropped tensor (row-major index) is kept, and
// scaled by 1 / (1 - p), when murmur3's finaliser of (i, seed) is at least p·2^32. Kernels that
// fuse dropout into other work (FusedAttention) use it to draw exactly FastDropout's mask.
struct DropoutHash {
  static constexpr uint32_t kIndexMultiplier = 0x9E3779B1u, kMix1 = 0x85EBCA6Bu,
                            kMix2 = 0xC2B2AE35u;

  DropoutHash(double p, uint64_t seed);

  // `scale` or 0 for element `index`. 32-bit integer ops only, so loops over it vectorise.
  float operator()(uint32_t index) const {
    uint32_t h = index * kIndexMultiplier + k0;
    h ^= h >> 16;
    h *= kMix1;
    h ^= h >> 13;
    h ^= k1;
    h *= kMix2;
    h ^= h >> 16;
    return h >= threshold ? scale : 0.0f;
  }

  // out[e] = (*this)(first + e) for e < count: 8 indices at a time on CPUs with AVX2.
  void Fill(uint32_t first, int64_t count, float* out) const;

  uint32_t k0, k1, threshold;
  float scale;
};

// One 64-bit draw from torch's default CPU generator: the seed of one dropout call.
uint64_t DrawDropoutSeed();

// x unchanged when !training or p == 0; otherwise x * mask / (1 - p) with mask ~ Bernoulli(1 - p).
torch::Tensor FastDropout(const torch::Tensor& x, double p, bool training);

// The {0, scale} mask FastDropout multiplies by (DropoutHash over the elements). Exposed for tests.
torch::Tensor DropoutMask(torch::IntArrayRef shape, double p, uint64_t seed);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_FAST_DROPOUT_H_
