// InfoNCE with a learnable, clamped temperature (reference §4.1): context row i against its
// target t_i, the other targets of the batch and the queued negatives.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_LOSSES_INFO_NCE_H_
#define JEPALAB_TRAINER_SERVICE_CORE_LOSSES_INFO_NCE_H_

#include <torch/types.h>

namespace jepalab::trainer {

// tau = clamp(exp(log_temperature), min, max). The clamp is inclusive: gradient reaches
// log_temperature at a bound and stops once it leaves [log min, log max].
torch::Tensor ClampedTemperature(const torch::Tensor& log_temperature, double min_temperature,
                                 double max_temperature);

struct InfoNceResult {
  torch::Tensor loss;         // scalar: mean over rows of cross-entropy with the positive as class
  torch::Tensor temperature;  // scalar tau used
};

// context, target: [B, P]; negatives: [q, P] (q may be 0, or an undefined tensor). Logits of row
// i are [c_i.t_i, c_i.t_j (j != i), c_i.Q_k] / tau (class order does not change the loss).
// Chance level is ln(B + q).
InfoNceResult InfoNce(const torch::Tensor& context, const torch::Tensor& target,
                      const torch::Tensor& negatives, const torch::Tensor& log_temperature,
                      double min_temperature, double max_temperature);

// The logits in the reference's column order (§4.1), for inspection and golden tests: row i is
// [c_i·t_i, {c_i·t_j}_{j≠i}, {c_i·Q_k}] / tau, shape [B, 1 + (B−1) + q]. InfoNce gives the same
// loss.
torch::Tensor InfoNceReferenceLogits(const torch::Tensor& context, const torch::Tensor& target,
                                     const torch::Tensor& negatives,
                                     const torch::Tensor& temperature);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_LOSSES_INFO_NCE_H_
