#include "trainer_service/core/losses/invariance.h"

#include <torch/torch.h>

namespace jepalab::trainer {
namespace {

using Cols = TokenFeatureColumns;

torch::Tensor Valid(const torch::Tensor& features, const torch::Tensor& mask) {
  return (mask > 0).unsqueeze(-1).expand_as(features);
}

}  // namespace

torch::Tensor ColorPermuted(const torch::Tensor& features, const torch::Tensor& mask,
                            const torch::Tensor& color_perm, const torch::Tensor& slot_perm) {
  const int64_t f = features.size(-1);
  const int64_t slots = f - Cols::kHistogramStart;
  TORCH_CHECK(slots >= 0 && slot_perm.numel() == slots, "ColorPermuted: slot_perm must cover the ",
              slots, " histogram slots");
  const int64_t palette = color_perm.numel();
  torch::Tensor out = features.clone();
  const torch::Tensor colour =
      features.select(-1, Cols::kDominantColor).round().clamp(0, palette - 1).to(torch::kInt64);
  const torch::Tensor mapped = color_perm.to(features.device(), torch::kInt64)
                                   .index({colour.reshape(-1)})
                                   .reshape(colour.sizes());
  out.select(-1, Cols::kDominantColor).copy_(mapped.to(features.dtype()));
  const torch::Tensor hist = features.narrow(-1, Cols::kHistogramStart, slots);
  out.narrow(-1, Cols::kHistogramStart, slots)
      .copy_(hist.index_select(-1, slot_perm.to(features.device(), torch::kInt64)));
  return torch::where(Valid(features, mask), out, features);
}

torch::Tensor Translated(const torch::Tensor& features, const torch::Tensor& mask,
                         const torch::Tensor& uniform_dy, const torch::Tensor& uniform_dx,
                         double max_delta, double coordinate_min, double coordinate_max) {
  if (max_delta == 0) return features.clone();  // the reference skips the transform
  torch::Tensor out = features.clone();
  const torch::Tensor dy = (uniform_dy.to(features.dtype()) * 2 - 1) * max_delta;
  const torch::Tensor dx = (uniform_dx.to(features.dtype()) * 2 - 1) * max_delta;
  for (int64_t col : {Cols::kCentroidY, Cols::kBboxMinY, Cols::kBboxMaxY}) {
    out.select(-1, col).copy_(
        (features.select(-1, col) + dy).clamp(coordinate_min, coordinate_max));
  }
  for (int64_t col : {Cols::kCentroidX, Cols::kBboxMinX, Cols::kBboxMaxX}) {
    out.select(-1, col).copy_(
        (features.select(-1, col) + dx).clamp(coordinate_min, coordinate_max));
  }
  return torch::where(Valid(features, mask), out, features);
}

torch::Tensor SymmetryFlipped(const torch::Tensor& features, const torch::Tensor& mask,
                              const std::string& mode) {
  const bool horizontal = mode == "horizontal";
  const int64_t c = horizontal ? Cols::kCentroidX : Cols::kCentroidY;
  const int64_t lo = horizontal ? Cols::kBboxMinX : Cols::kBboxMinY;
  const int64_t hi = horizontal ? Cols::kBboxMaxX : Cols::kBboxMaxY;
  torch::Tensor out = features.clone();
  out.select(-1, c).copy_(1 - features.select(-1, c));
  out.select(-1, lo).copy_(1 - features.select(-1, hi));
  out.select(-1, hi).copy_(1 - features.select(-1, lo));
  return torch::where(Valid(features, mask), out, features);
}

ColorDraws DrawColor(int64_t palette_size, int64_t slots, c10::optional<at::Generator> generator) {
  ColorDraws d;
  d.color_perm = torch::randperm(palette_size, generator, torch::kInt64);
  d.slot_perm = torch::randperm(slots, generator, torch::kInt64);
  return d;
}

TranslationDraws DrawTranslation(const torch::Tensor& features,
                                 c10::optional<at::Generator> generator) {
  auto shape = features.sizes().vec();
  shape.pop_back();
  TranslationDraws d;
  d.uniform_dy = torch::rand(shape, generator, features.options().requires_grad(false));
  d.uniform_dx = torch::rand(shape, generator, features.options().requires_grad(false));
  return d;
}

int64_t DrawSymmetryMode(int64_t num_modes, c10::optional<at::Generator> generator) {
  return torch::randint(0, num_modes, {1}, generator, torch::kInt64).item<int64_t>();
}

torch::Tensor InvarianceLoss(const torch::Tensor& context_ref, const torch::Tensor& target_ref,
                             const std::vector<InvarianceTerm>& terms) {
  torch::Tensor total = torch::zeros({}, context_ref.options());
  for (const InvarianceTerm& t : terms) {
    if (t.weight <= 0) continue;
    total = total + t.weight * (torch::mse_loss(t.context_repr, context_ref) +
                                torch::mse_loss(t.target_repr, target_ref));
  }
  return total;
}

}  // namespace jepalab::trainer
