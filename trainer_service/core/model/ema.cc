#include "trainer_service/core/model/ema.h"

#include <torch/torch.h>

namespace jepalab::trainer {

void InitTargetFromOnline(torch::nn::Module& target, const torch::nn::Module& online) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  const auto o = online.parameters();
  TORCH_CHECK(t.size() == o.size(), "EMA target and online networks differ in parameter count");
  for (size_t i = 0; i < t.size(); ++i) {
    t[i].copy_(o[i]);
    t[i].set_requires_grad(false);
  }
}

void UpdateEmaTarget(torch::nn::Module& target, const torch::nn::Module& online, double decay) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  const auto o = online.parameters();
  TORCH_CHECK(t.size() == o.size(), "EMA target and online networks differ in parameter count");
  for (size_t i = 0; i < t.size(); ++i) t[i].mul_(decay).add_(o[i], 1.0 - decay);
}

}  // namespace jepalab::trainer
