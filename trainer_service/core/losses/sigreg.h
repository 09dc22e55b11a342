// SIGReg (reference §4.3): the sliced Epps–Pulley statistic of L2-normalised embeddings against
// N(0, 1), as the reference computes it (the second, shadowing EppsPulley class of its vendored
// lejepa: t = linspace(−3, 3, num_points), trapezoid rule, no ×N factor, mean over slices).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_LOSSES_SIGREG_H_
#define JEPALAB_TRAINER_SERVICE_CORE_LOSSES_SIGREG_H_

#include <torch/types.h>

#include <cstdint>

namespace jepalab::trainer {

// samples [N, S] -> [S]: per column, trapz_t |ecf(t) − e^{−t²/2}|² · e^{−t²/2} over
// t = linspace(−t_max, t_max, num_points), ecf(t) = mean_n exp(i t x_n). Differentiable.
torch::Tensor EppsPulleyStatistic(const torch::Tensor& samples, int64_t num_points,
                                  double t_max = 3.0);

// Directions [dim, slices] ~ N(0, 1) from a CPU generator seeded with `seed` (the reference's
// call counter), exactly torch.randn(dim, slices, generator=torch.Generator().manual_seed(seed)).
// Not normalised. (On CUDA the reference draws from a CUDA generator: other values.)
torch::Tensor DrawSigregDirections(int64_t dim, int64_t slices, uint64_t seed);

struct SigregResult {
  torch::Tensor value;      // scalar: mean over slices
  torch::Tensor per_slice;  // [S]
};

// embeddings [B, D]; directions [D, S], used after dividing each column by its L2 norm (they
// carry no gradient). Gradient flows through the L2 normalisation of the embeddings.
SigregResult Sigreg(const torch::Tensor& embeddings, const torch::Tensor& directions,
                    int64_t num_points);

// The L2 predictive loss of `loss.objective: sigreg` (§4.2): MSE over all B·P elements.
torch::Tensor L2PredictiveLoss(const torch::Tensor& context, const torch::Tensor& target);

// The module's state: a call counter used as the direction seed (0, 1, 2, ...; the reference
// advances it on every call, validation included, and does not checkpoint it).
class SigregLoss {
 public:
  SigregLoss(int64_t num_slices, int64_t num_points)
      : num_slices_(num_slices), num_points_(num_points) {}
  SigregResult operator()(const torch::Tensor& embeddings);
  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }

 private:
  int64_t num_slices_;
  int64_t num_points_;
  int64_t step_ = 0;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_LOSSES_SIGREG_H_
