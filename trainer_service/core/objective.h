// The training objective of one micro-batch (reference §4.6): encodes the batch with the online
// network (and the target network when there is one) and combines the loss terms.
// infonce: InfoNCE (+queue, clamped learnable τ) + invariance + relational + λ·SIGReg;
// sigreg:  L2 + λ·SIGReg. The VQ loss is added when compat.vq_loss_in_objective.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_OBJECTIVE_H_
#define JEPALAB_TRAINER_SERVICE_CORE_OBJECTIVE_H_

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "proto/config/trainer_config.pb.h"
#include "trainer_service/core/losses/sigreg.h"
#include "trainer_service/core/model/jepa_model.h"

namespace jepalab::trainer {

struct ObjectiveResult {
  torch::Tensor total;  // scalar, differentiable
  // Every term as reported ("loss/<component>", the weighted value); all but those not in the
  // objective (loss/vq without compat.vq_loss_in_objective) sum to `total`.
  std::vector<std::pair<std::string, torch::Tensor>> terms;
  torch::Tensor context_projection;  // [B, P], detached
  torch::Tensor target_projection;   // [B, P], detached (queue entries)
  torch::Tensor context_indices;     // [B·T, N] VQ codes (undefined without VQ)
  torch::Tensor target_indices;      // [B, N] (from the target network when there is one)
};

class JepaObjective {
 public:
  explicit JepaObjective(const config::v1::TrainerConfig& config);

  // `target` may be null (the online network encodes the target, with gradients, §3.7).
  // `negatives` [q, P] (may be empty). Under no-grad for validation.
  ObjectiveResult Compute(JepaModelImpl& online, JepaModelImpl* target, const TokenTensors& batch,
                          const torch::Tensor& negatives, const torch::Tensor& log_temperature);

  SigregLoss& sigreg() { return sigreg_; }
  double min_temperature() const { return min_temperature_; }
  double max_temperature() const { return max_temperature_; }
  // The name of the objective's primary term: loss/info_nce or loss/l2.
  const char* primary_term() const;

 private:
  torch::Tensor Invariance(JepaModelImpl& online, const TokenTensors& batch,
                           const torch::Tensor& context_ref, const torch::Tensor& target_ref);

  const config::v1::TrainerConfig& config_;
  bool infonce_;
  double min_temperature_, max_temperature_;
  SigregLoss sigreg_;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_OBJECTIVE_H_
