#include "trainer_service/core/model/jepa_model.h"

#include <torch/torch.h>

#include "trainer_service/core/model/ema.h"

namespace jepalab::trainer {
namespace {

torch::Tensor FromVector(const std::vector<float>& values, torch::IntArrayRef shape,
                         const torch::Device& device) {
  // from_blob does not own the data: clone on the CPU, copy otherwise.
  torch::Tensor view = torch::from_blob(const_cast<float*>(values.data()), shape, torch::kFloat32);
  return device.is_cpu() ? view.clone() : view.to(device);
}

VqUpdateTiming Timing(const std::string& s) {
  return s == "per_call" ? VqUpdateTiming::kPerCall : VqUpdateTiming::kPerOptimizerStep;
}

}  // namespace

bool FramesRepeatFirst(const torch::Tensor& features, const torch::Tensor& mask,
                       const torch::Tensor& adjacency) {
  auto same = [](const torch::Tensor& x) {  // [B, T, ...]: every frame equals frame 0
    return torch::equal(x, x.narrow(1, 0, 1).expand_as(x));
  };
  return same(mask) && same(features) && same(adjacency);
}

TokenTensors ToTensors(const TokenBatch& b, const torch::Device& device) {
  const int64_t B = b.size, T = b.context_window, N = b.max_objects, F = b.feature_dim;
  TokenTensors t;
  t.context_features = FromVector(b.context_features, {B, T, N, F}, device);
  t.context_mask = FromVector(b.context_mask, {B, T, N}, device);
  t.context_adjacency = FromVector(b.context_adjacency, {B, T, N, N}, device);
  t.target_features = FromVector(b.target_features, {B, N, F}, device);
  t.target_mask = FromVector(b.target_mask, {B, N}, device);
  t.target_adjacency = FromVector(b.target_adjacency, {B, N, N}, device);
  return t;
}

JepaModelOptions JepaModelOptionsFromConfig(const config::v1::TrainerConfig& config) {
  const auto& e = config.object_encoder();
  const auto& compat = config.compat();
  JepaModelOptions o;
  o.encoder.feature_dim = 13 + config.tokenizer().max_color_features();
  o.encoder.hidden_dim = e.hidden_dim();
  o.encoder.activation = e.activation();
  o.encoder.relational = e.relational();
  o.encoder.relational_layers = e.relational_layers();
  o.encoder.relational_heads = e.relational_heads();
  o.encoder.relational_dropout = e.relational_dropout();
  if (e.vq_enabled()) {
    VqCodebookOptions vq(e.num_embeddings(), e.hidden_dim());
    vq.mode(e.vq_mode() == "gumbel" ? VqMode::kGumbel : VqMode::kHard)
        .commitment_cost(e.commitment_cost())
        .ema_decay(e.has_ema_decay() ? std::optional<double>(e.ema_decay()) : std::nullopt)
        .refresh_enabled(e.vq_refresh_enabled())
        .refresh_interval(e.vq_refresh_interval())
        .refresh_usage_threshold(e.vq_refresh_usage_threshold())
        .temperature_init(e.vq_temperature_init())
        .temperature_min(e.vq_temperature_min())
        .temperature_anneal_steps(e.vq_temperature_anneal_steps())
        .straight_through(e.vq_straight_through())
        .entropy_weight(e.vq_entropy_weight())
        .update_timing(Timing(compat.vq_update_timing()))
        .refresh_threshold(compat.vq_refresh_threshold() == "total_mass_share"
                               ? VqRefreshThreshold::kShareOfTotalMass
                               : VqRefreshThreshold::kRelativeToMean)
        .ema_init(compat.vq_ema_init() == "codebook_copy" ? VqEmaInit::kCodebookCopy
                                                          : VqEmaInit::kZero)
        .revival(compat.vq_revival() == "reference" ? VqRevival::kReference
                                                    : VqRevival::kConsistent)
        .swapped_loss_weighting(compat.vq_swapped_loss_weighting());
    o.vq = vq;
  }
  o.aggregation.mode = config.model().context_aggregation();
  o.aggregation.context_window = config.data().context_window();
  o.projection.input_dim = e.hidden_dim();
  o.projection.projection_dim = config.loss().projection_dim();
  o.projection.layers = config.loss().projection_layers();
  o.projection.activation = config.loss().projection_activation();
  return o;
}

JepaModelImpl::JepaModelImpl(const JepaModelOptions& options) : options_(options) {
  encoder = register_module("encoder", ObjectEncoder(options.encoder));
  if (options.vq.has_value()) vq = register_module("vq", VqCodebook(*options.vq));
  aggregation = register_module("aggregation", ContextAggregation(options.aggregation));
  projection = register_module("projection", ProjectionHead(options.projection));
}

Encoding JepaModelImpl::EncodeObjects(const torch::Tensor& features, const torch::Tensor& mask,
                                      const torch::Tensor& adjacency, int64_t copies) {
  Encoding out;
  out.objects = encoder(features, mask, adjacency, copies);
  if (vq) {
    VqOutput q = vq->forward(out.objects);
    out.objects = q.quantized;
    out.indices = q.indices;
    out.vq_loss = q.loss;
  }
  return out;
}

Encoding JepaModelImpl::EncodeContext(const torch::Tensor& features, const torch::Tensor& mask,
                                      const torch::Tensor& adjacency) {
  const int64_t b = features.size(0), t = features.size(1), n = features.size(2);
  const torch::Tensor flat_mask = mask.reshape({b * t, n});
  Encoding out;
  if (t > 1 && FramesRepeatFirst(features, mask, adjacency)) {
    out = EncodeObjects(features.select(1, 0), mask.select(1, 0), adjacency.select(1, 0), t);
  } else {
    out = EncodeObjects(features.reshape({b * t, n, features.size(3)}), flat_mask,
                        adjacency.reshape({b * t, n, n}), 1);
  }
  const torch::Tensor grids = MaskedMeanPool(out.objects, flat_mask);  // [B·T, H]
  out.repr = aggregation(grids.reshape({b, t, grids.size(1)}));
  return out;
}

Encoding JepaModelImpl::EncodeTarget(const torch::Tensor& features, const torch::Tensor& mask,
                                     const torch::Tensor& adjacency) {
  Encoding out = EncodeObjects(features, mask, adjacency, 1);
  out.repr = MaskedMeanPool(out.objects, mask);
  return out;
}

void CopyIntoTarget(JepaModelImpl& target, const JepaModelImpl& online) {
  InitTargetFromOnline(target, online);
  torch::NoGradGuard no_grad;
  auto t = target.buffers();
  const auto o = online.buffers();
  TORCH_CHECK(t.size() == o.size(), "target and online networks differ in buffer count");
  for (size_t i = 0; i < t.size(); ++i) t[i].copy_(o[i]);
}

}  // namespace jepalab::trainer
