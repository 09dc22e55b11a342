#include "trainer_service/core/model/fast_dropout.h"

#include <algorithm>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace jepalab::trainer {
namespace {

// Elements per parallel chunk; each element's draw depends only on (seed, index).
constexpr int64_t kGrain = 1 << 15;

// Built for AVX2 and plain x86-64, picked at load time.
__attribute__((target_clones("avx2", "default"))) void FillMask(float* out, int64_t begin, int64_t end,
                                                                 const DropoutHash& hash) {
  const DropoutHash h = hash;  // a local copy keeps the keys in registers
  for (int64_t i = begin; i < end; ++i) out[i] = h(static_cast<uint32_t>(i));
}

}  // namespace

DropoutHash::DropoutHash(double p, uint64_t seed)
    : k0(static_cast<uint32_t>(seed)),
      k1(static_cast<uint32_t>(seed >> 32)),
      threshold(static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0))),
      scale(static_cast<float>(1.0 / (1.0 - p))) {}

uint64_t DrawDropoutSeed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

torch::Tensor DropoutMask(torch::IntArrayRef shape, double p, uint64_t seed) {
  torch::Tensor mask = torch::empty(shape, torch::kFloat32);
  const int64_t n = mask.numel();
  TORCH_CHECK(n < (int64_t{1} << 32), "DropoutMask: more than 2^32 elements");
  const DropoutHash hash(p, seed);
  float* out = mask.data_ptr<float>();
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) { FillMask(out, begin, end, hash); });
  return mask;
}

torch::Tensor FastDropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0) return x;
  if (!x.device().is_cpu() || p >= 1) return torch::dropout(x, p, training);
  const torch::Tensor mask = DropoutMask(x.sizes(), p, DrawDropoutSeed());
  return x * mask.to(x.dtype());
}

}  // namespace jepalab::trainer
