#include "trainer_service/core/objective.h"

#include <torch/torch.h>

#include "common/metric_names.h"
#include "trainer_service/core/losses/info_nce.h"
#include "trainer_service/core/losses/invariance.h"
#include "trainer_service/core/losses/relational_loss.h"

namespace jepalab::trainer {

namespace names = ::jepalab::metric_names;

JepaObjective::JepaObjective(const config::v1::TrainerConfig& config)
    : config_(config),
      infonce_(config.loss().objective() == "infonce"),
      sigreg_(config.sigreg().num_slices(), config.sigreg().num_points()) {
  const auto& loss = config.loss();
  min_temperature_ =
      loss.temperature_bounds_size() == 2 ? loss.temperature_bounds(0) : loss.temperature_min();
  max_temperature_ =
      loss.temperature_bounds_size() == 2 ? loss.temperature_bounds(1) : loss.temperature_max();
}

const char* JepaObjective::primary_term() const {
  return infonce_ ? names::kLossInfoNce : names::kLossL2;
}

torch::Tensor JepaObjective::Invariance(JepaModelImpl& online, const TokenTensors& b,
                                        const torch::Tensor& context_ref,
                                        const torch::Tensor& target_ref) {
  const auto& inv = config_.invariance();
  std::vector<InvarianceTerm> terms;
  auto add = [&](double weight, const torch::Tensor& ctx_features,
                 const torch::Tensor& tgt_features) {
    InvarianceTerm term;
    term.weight = weight;
    term.context_repr =
        online.EncodeContext(ctx_features, b.context_mask, b.context_adjacency).repr;
    term.target_repr = online.EncodeTarget(tgt_features, b.target_mask, b.target_adjacency).repr;
    terms.push_back(std::move(term));
  };
  // Separate draws for context and target, in the reference's order (§4.4).
  if (inv.color_weight() > 0) {
    const int64_t slots = b.context_features.size(-1) - TokenFeatureColumns::kHistogramStart;
    const ColorDraws c = DrawColor(inv.palette_size(), slots);
    const ColorDraws t = DrawColor(inv.palette_size(), slots);
    add(inv.color_weight(),
        ColorPermuted(b.context_features, b.context_mask, c.color_perm, c.slot_perm),
        ColorPermuted(b.target_features, b.target_mask, t.color_perm, t.slot_perm));
  }
  if (inv.translation_weight() > 0 && inv.translation_max_delta() > 0) {
    const TranslationDraws c = DrawTranslation(b.context_features);
    const TranslationDraws t = DrawTranslation(b.target_features);
    add(inv.translation_weight(),
        Translated(b.context_features, b.context_mask, c.uniform_dy, c.uniform_dx,
                   inv.translation_max_delta(), inv.coordinate_min(), inv.coordinate_max()),
        Translated(b.target_features, b.target_mask, t.uniform_dy, t.uniform_dx,
                   inv.translation_max_delta(), inv.coordinate_min(), inv.coordinate_max()));
  }
  if (inv.symmetry_weight() > 0) {
    std::vector<std::string> modes(inv.symmetry_modes().begin(), inv.symmetry_modes().end());
    if (modes.empty()) modes = {"horizontal", "vertical"};
    const int64_t n = static_cast<int64_t>(modes.size());
    const std::string& c = modes[static_cast<size_t>(DrawSymmetryMode(n))];
    const std::string& t = modes[static_cast<size_t>(DrawSymmetryMode(n))];
    add(inv.symmetry_weight(), SymmetryFlipped(b.context_features, b.context_mask, c),
        SymmetryFlipped(b.target_features, b.target_mask, t));
  }
  if (terms.empty()) return {};
  return InvarianceLoss(context_ref, target_ref, terms);
}

ObjectiveResult JepaObjective::Compute(JepaModelImpl& online, JepaModelImpl* target,
                                       const TokenTensors& b, const torch::Tensor& negatives,
                                       const torch::Tensor& log_temperature) {
  ObjectiveResult out;
  const Encoding context =
      online.EncodeContext(b.context_features, b.context_mask, b.context_adjacency);
  const torch::Tensor c = online.Project(context.repr);
  Encoding tgt;
  torch::Tensor t;
  if (target != nullptr) {
    torch::NoGradGuard no_grad;
    tgt = target->EncodeTarget(b.target_features, b.target_mask, b.target_adjacency);
    t = target->Project(tgt.repr);
  } else {
    tgt = online.EncodeTarget(b.target_features, b.target_mask, b.target_adjacency);
    t = online.Project(tgt.repr);
  }
  torch::Tensor total;
  auto add = [&](const char* name, const torch::Tensor& value, bool in_objective) {
    out.terms.emplace_back(name, value);
    if (in_objective) total = total.defined() ? total + value : value;
  };
  const double lambda = config_.sigreg().weight();
  if (infonce_) {
    add(names::kLossInfoNce,
        InfoNce(c, t, negatives, log_temperature, min_temperature_, max_temperature_).loss, true);
    const torch::Tensor invariance = Invariance(online, b, context.repr, tgt.repr);
    if (invariance.defined()) add(names::kLossInvariance, invariance, true);
    const auto& rel = config_.relational_loss();
    if (rel.weight() > 0 || rel.context_self_weight() > 0) {
      const int64_t bt = b.context_mask.size(0) * b.context_mask.size(1),
                    n = b.context_mask.size(2);
      add(names::kLossRelational,
          RelationalLoss(context.objects, b.context_mask.reshape({bt, n}),
                         b.context_adjacency.reshape({bt, n, n}), tgt.objects, b.target_mask,
                         b.target_adjacency, b.context_mask.size(1), rel.weight(),
                         rel.context_self_weight())
              .loss,
          true);
    }
  } else {
    add(names::kLossL2, L2PredictiveLoss(c, t), true);
  }
  if (lambda > 0) add(names::kLossSigreg, lambda * sigreg_(c).value, true);
  if (context.vq_loss.defined()) {
    torch::Tensor vq = context.vq_loss;
    if (target == nullptr && tgt.vq_loss.defined()) vq = vq + tgt.vq_loss;
    add(names::kLossVq, vq, config_.compat().vq_loss_in_objective());
  }
  out.total = total;
  // fp32 for the queue and the diagnostics also when the forward ran under bf16 autocast.
  out.context_projection = c.detach().to(torch::kFloat32);
  out.target_projection = t.detach().to(torch::kFloat32);
  out.context_indices = context.indices;
  out.target_indices = tgt.indices;
  return out;
}

}  // namespace jepalab::trainer
