// Per-kernel times of the mini model's hot ops at 1 and 2 torch threads: torch's Linear against
// ParallelLinear, SmallBmm, and elementwise products of the relational layer's [192,16,64]
// activations. Each figure is the median of 50 timed calls (forward + backward where noted).
// Usage: bazel run -c opt //bench:kernel_bench
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "trainer_service/core/model/fused_attention.h"
#include "trainer_service/core/model/object_encoder.h"
#include "trainer_service/core/model/parallel_linear.h"
#include "trainer_service/core/model/small_bmm.h"

namespace {

double MedianMicros(const std::function<void()>& f) {
  for (int i = 0; i < 5; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < 50; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

}  // namespace

int main() {
  using jepalab::trainer::ParallelLinear;
  using jepalab::trainer::SmallBmm;
  jepalab::trainer::UseSingleThreadedBlas();  // as the trainer runs
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({3072, 64}, torch::requires_grad());
  const torch::Tensor w = torch::randn({128, 64}, torch::requires_grad()),
                      b = torch::randn({128}, torch::requires_grad());
  const torch::Tensor up = torch::randn({3072, 128});
  const torch::Tensor q = torch::randn({768, 16, 16}, torch::requires_grad()),
                      k = torch::randn({768, 16, 16}, torch::requires_grad());
  const torch::Tensor act = torch::randn({192, 16, 64}), mask = torch::rand({192, 16, 64});
  std::printf("%-40s %10s %10s\n", "kernel (median µs)", "1 thread", "2 threads");
  auto row = [&](const char* name, const std::function<void()>& f) {
    double t[2];
    for (int threads : {1, 2}) {
      at::set_num_threads(threads);
      t[threads - 1] = MedianMicros(f);
    }
    std::printf("%-40s %10.1f %10.1f\n", name, t[0], t[1]);
  };
  row("torch linear 3072x64->128 fwd", [&] {
    torch::NoGradGuard g;
    torch::nn::functional::linear(x, w, b);
  });
  row("ParallelLinear 3072x64->128 fwd", [&] {
    torch::NoGradGuard g;
    ParallelLinear(x, w, b);
  });
  row("torch linear fwd+bwd",
      [&] { (torch::nn::functional::linear(x, w, b) * up).sum().backward(); });
  row("ParallelLinear fwd+bwd", [&] { (ParallelLinear(x, w, b) * up).sum().backward(); });
  row("torch matmul 768x16x16x16 fwd+bwd", [&] { torch::matmul(q, k).sum().backward(); });
  row("SmallBmm 768x16x16x16 fwd+bwd", [&] { SmallBmm(q, k).sum().backward(); });
  row("mul [192,16,64]", [&] { act* mask; });
  row("add [192,16,64]", [&] { act + mask; });
  row("gelu [192,16,64]", [&] { torch::gelu(act); });
  row("layer_norm [192,16,64]", [&] { torch::layer_norm(act, {64}); });
  row("sum [192,16,64] over rows", [&] { act.sum(0); });
  // Attention core on [192 grids, 16 objects, 4 heads × 16]: the unfused ops (SmallBmm) vs the
  // kernel.
  const torch::Tensor qa = torch::randn({192, 16, 64}, torch::requires_grad());
  const torch::Tensor ka = torch::randn({192, 16, 64}, torch::requires_grad());
  const torch::Tensor va = torch::randn({192, 16, 64}, torch::requires_grad());
  const torch::Tensor allowed =
      (torch::rand({192, 16, 16}) > 0.5) | torch::eye(16, torch::kBool).unsqueeze(0);
  row("attention core unfused fwd+bwd",
      [&] { jepalab::trainer::UnfusedAttention(qa, ka, va, allowed, 4, 1, 0.1).sum().backward(); });
  row("attention core FusedAttention fwd", [&] {
    torch::NoGradGuard no_grad;
    jepalab::trainer::FusedAttention(qa, ka, va, allowed, 4, 1, 0.1);
  });
  row("attention core FusedAttention fwd+bwd",
      [&] { jepalab::trainer::FusedAttention(qa, ka, va, allowed, 4, 1, 0.1).sum().backward(); });
  // The whole encoder (input MLP + 1 relational layer, training mode) on 192 grids of 16 objects.
  jepalab::trainer::ObjectEncoderOptions options;
  options.feature_dim = 23;
  jepalab::trainer::ObjectEncoder encoder(options);
  const torch::Tensor features = torch::rand({192, 16, 23}), object_mask = torch::ones({192, 16});
  const torch::Tensor adjacency = (torch::rand({192, 16, 16}) > 0.5).to(torch::kFloat32);
  const torch::Tensor encoder_up = torch::randn({192, 16, 64});
  row("encoder fwd+bwd, 192 grids",
      [&] { (encoder(features, object_mask, adjacency) * encoder_up).sum().backward(); });
  row("encoder fwd+bwd, 64 grids x3 copies", [&] {
    (encoder(features.narrow(0, 0, 64), object_mask.narrow(0, 0, 64), adjacency.narrow(0, 0, 64),
             3) *
     encoder_up)
        .sum()
        .backward();
  });
  return 0;
}
