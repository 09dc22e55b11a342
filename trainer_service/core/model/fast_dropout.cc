#include "trainer_service/core/model/fast_dropout.h"

#include <cmath>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace jepalab::trainer {
namespace {

// Elements per parallel chunk; each element's draw depends only on (seed, index).
constexpr int64_t kGrain = 1 << 15;

// murmur3's 32-bit finaliser over the element index, keyed by both halves of the seed: 32-bit
// integer ops only, so the loop vectorises. Built for AVX2 and plain x86-64, picked at load time.
__attribute__((target_clones("avx2", "default"))) void FillMask(float* out, int64_t begin, int64_t end,
                                                                 uint32_t k0, uint32_t k1, uint32_t threshold,
                                                                 float scale) {
  for (int64_t i = begin; i < end; ++i) {
    uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u + k0;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h ^= k1;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    out[i] = h >= threshold ? scale : 0.0f;
  }
}

uint64_t DrawSeed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace

torch::Tensor DropoutMask(torch::IntArrayRef shape, double p, uint64_t seed) {
  torch::Tensor mask = torch::empty(shape, torch::kFloat32);
  const int64_t n = mask.numel();
  TORCH_CHECK(n < (int64_t{1} << 32), "DropoutMask: more than 2^32 elements");
  const auto threshold = static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0));
  const auto scale = static_cast<float>(1.0 / (1.0 - p));
  float* out = mask.data_ptr<float>();
  const auto k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) { FillMask(out, begin, end, k0, k1, threshold, scale); });
  return mask;
}

torch::Tensor FastDropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0) return x;
  if (!x.device().is_cpu() || p >= 1) return torch::dropout(x, p, training);
  const torch::Tensor mask = DropoutMask(x.sizes(), p, DrawSeed());
  return x * mask.to(x.dtype());
}

}  // namespace jepalab::trainer
