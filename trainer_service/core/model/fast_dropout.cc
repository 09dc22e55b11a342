#include "trainer_service/core/model/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <mutex>

namespace jepalab::trainer {
namespace {

// Elements per parallel chunk; each element's draw depends only on (seed, index).
constexpr int64_t kGrain = 1 << 15;

// DropoutHash::operator() on 8 consecutive indices per step, in AVX2 integer lanes. Returns the
// number of elements done (a multiple of 8); the caller does the rest.
__attribute__((target("avx2"))) int64_t FillAvx2(const DropoutHash& hash, uint32_t first,
                                                 int64_t count, float* out) {
  const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i k0 = _mm256_set1_epi32(static_cast<int>(hash.k0)),
                k1 = _mm256_set1_epi32(static_cast<int>(hash.k1));
  const __m256i threshold = _mm256_set1_epi32(static_cast<int>(hash.threshold));
  const __m256 scale = _mm256_set1_ps(hash.scale);
  const int64_t vectorised = count - count % 8;
  for (int64_t e = 0; e < vectorised; e += 8) {
    const __m256i index = _mm256_add_epi32(
        _mm256_set1_epi32(static_cast<int>(first + static_cast<uint32_t>(e))), step);
    __m256i h = _mm256_add_epi32(
        _mm256_mullo_epi32(index,
                           _mm256_set1_epi32(static_cast<int>(DropoutHash::kIndexMultiplier))),
        k0);
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
    h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(DropoutHash::kMix1)));
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
    h = _mm256_xor_si256(h, k1);
    h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(DropoutHash::kMix2)));
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
    const __m256i kept =
        _mm256_cmpeq_epi32(_mm256_max_epu32(h, threshold), h);  // h >= threshold, unsigned
    _mm256_storeu_ps(out + e, _mm256_and_ps(_mm256_castsi256_ps(kept), scale));
  }
  return vectorised;
}

}  // namespace

DropoutHash::DropoutHash(double p, uint64_t seed)
    : k0(static_cast<uint32_t>(seed)),
      k1(static_cast<uint32_t>(seed >> 32)),
      threshold(static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0))),
      scale(static_cast<float>(1.0 / (1.0 - p))) {}

void DropoutHash::Fill(uint32_t first, int64_t count, float* out) const {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  const int64_t done = avx2 ? FillAvx2(*this, first, count, out) : 0;
  for (int64_t e = done; e < count; ++e) out[e] = (*this)(first + static_cast<uint32_t>(e));
}

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
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    hash.Fill(static_cast<uint32_t>(begin), end - begin, out + begin);
  });
  return mask;
}

torch::Tensor FastDropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0) return x;
  if (!x.device().is_cpu() || p >= 1) return torch::dropout(x, p, training);
  const torch::Tensor mask = DropoutMask(x.sizes(), p, DrawDropoutSeed());
  return x * mask.to(x.dtype());
}

}  // namespace jepalab::trainer
