#include "trainer_service/core/losses/sigreg.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace jepalab::trainer {

torch::Tensor EppsPulleyStatistic(const torch::Tensor& samples, int64_t num_points, double t_max) {
  TORCH_CHECK(samples.dim() == 2, "EppsPulleyStatistic: samples must be [N, S]");
  TORCH_CHECK(num_points >= 2, "EppsPulleyStatistic: num_points must be >= 2");
  const torch::Tensor t =
      torch::linspace(-t_max, t_max, num_points, samples.options().requires_grad(false));
  const torch::Tensor phi = (-0.5 * t.pow(2)).exp();   // N(0,1) characteristic function = weight
  const torch::Tensor xt = samples.unsqueeze(-1) * t;  // [N, S, T]
  const torch::Tensor cos_mean = xt.cos().mean(0);     // [S, T]
  const torch::Tensor sin_mean = xt.sin().mean(0);
  const torch::Tensor err = ((cos_mean - phi).pow(2) + sin_mean.pow(2)) * phi;
  return torch::trapezoid(err, t, /*dim=*/-1);
}

torch::Tensor DrawSigregDirections(int64_t dim, int64_t slices, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return torch::randn({dim, slices}, gen, torch::TensorOptions().dtype(torch::kFloat32));
}

SigregResult Sigreg(const torch::Tensor& embeddings, const torch::Tensor& directions,
                    int64_t num_points) {
  TORCH_CHECK(
      embeddings.dim() == 2 && directions.dim() == 2 && directions.size(0) == embeddings.size(1),
      "Sigreg: embeddings [B, D] and directions [D, S] required");
  namespace F = torch::nn::functional;
  const torch::Tensor x =
      F::normalize(embeddings.to(torch::kFloat32), F::NormalizeFuncOptions().dim(1));
  torch::Tensor a = directions.detach().to(x.device(), torch::kFloat32);
  a = a / a.norm(2, /*dim=*/0, /*keepdim=*/true);
  const torch::Tensor per_slice = EppsPulleyStatistic(torch::matmul(x, a), num_points);
  return {per_slice.mean(), per_slice};
}

torch::Tensor L2PredictiveLoss(const torch::Tensor& context, const torch::Tensor& target) {
  return torch::mse_loss(context, target);
}

SigregResult SigregLoss::operator()(const torch::Tensor& embeddings) {
  const torch::Tensor a =
      DrawSigregDirections(embeddings.size(1), num_slices_, static_cast<uint64_t>(step_));
  ++step_;
  return Sigreg(embeddings, a, num_points_);
}

}  // namespace jepalab::trainer
