#include "trainer_service/core/losses/info_nce.h"

#include <torch/torch.h>

#include <vector>

namespace jepalab::trainer {

torch::Tensor ClampedTemperature(const torch::Tensor& log_temperature, double min_temperature,
                                 double max_temperature) {
  return torch::clamp(log_temperature.exp(), min_temperature, max_temperature);
}

InfoNceResult InfoNce(const torch::Tensor& context, const torch::Tensor& target,
                      const torch::Tensor& negatives, const torch::Tensor& log_temperature,
                      double min_temperature, double max_temperature) {
  TORCH_CHECK(context.dim() == 2 && context.sizes() == target.sizes(),
              "InfoNce: context and target must both be [B, P]");
  const torch::Tensor tau = ClampedTemperature(log_temperature, min_temperature, max_temperature);
  torch::Tensor logits = torch::matmul(context, target.t());  // [B, B], positives on the diagonal
  if (negatives.defined() && negatives.size(0) > 0) {
    logits = torch::cat({logits, torch::matmul(context, negatives.to(context.dtype()).t())}, 1);
  }
  logits = logits.to(torch::kFloat32) / tau;  // the cross-entropy runs in fp32 (§4.1)
  const torch::Tensor labels =
      torch::arange(context.size(0), context.options().dtype(torch::kInt64));
  return {torch::nn::functional::cross_entropy(logits, labels), tau};
}

torch::Tensor InfoNceReferenceLogits(const torch::Tensor& context, const torch::Tensor& target,
                                     const torch::Tensor& negatives,
                                     const torch::Tensor& temperature) {
  const int64_t b = context.size(0);
  const torch::Tensor sim = torch::matmul(context, target.t());
  const torch::Tensor off_diagonal =
      sim.masked_select(torch::eye(b, sim.options().dtype(torch::kBool)).logical_not())
          .reshape({b, b - 1});
  std::vector<torch::Tensor> parts = {(context * target).sum(1, /*keepdim=*/true), off_diagonal};
  if (negatives.defined() && negatives.size(0) > 0) {
    parts.push_back(torch::matmul(context, negatives.to(context.dtype()).t()));
  }
  return torch::cat(parts, 1).to(torch::kFloat32) / temperature;
}

}  // namespace jepalab::trainer
