// Embedding-health statistics of the reference's diagnostics (§6: variance, isotropy, effective
// rank, gaussian score, exactly as defined there) plus RankMe and a jitter-free isotropy, and the
// tracker that buffers recent projections and VQ usage between events.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_EMBEDDING_METRICS_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_EMBEDDING_METRICS_H_

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"

namespace jepalab::trainer {

struct EmbeddingStats {
  // Reference definitions (§6), evaluated in float32 like the reference, on X [n, d]:
  double variance = 0;  // mean_d of the biased per-dimension variance
  double isotropy = 0;  // (λmin + 1e-8) / (max(λmax, 1e-8) + 1e-8), λ = eig(Σ + 1e-6 I) ≥ 0
  double effective_rank = 0;  // exp(−Σ p log(p + 1e-12)), p = λ / max(Σλ, 1e-8)
  double gaussian_score = 0;  // 1 / (1 + mean|skew| + mean|excess kurtosis|), std floor 1e-6
  // Additions:
  // RankMe (Garrido et al. 2023) of the uncentred X: exp(−Σ p log p), p_k = σ_k / Σσ + 1e-7,
  // σ the singular values of X (from eig(XᵀX) in float64).
  double rankme = 0;
  // Participation ratio of the covariance spectrum without the jitter, over d:
  // (Σλ)² / (d·Σλ²), λ = max(eig(Σ + 1e-6 I) − 1e-6, 0). 1 for isotropic data, 1/d for rank 1,
  // r/d for r equal directions; scale-free, and unlike `isotropy` it is not decided by the
  // smallest eigenvalue, so the 1e-6 jitter and solver round-off do not move it.
  double robust_isotropy = 0;
  bool eigen_ok = true;  // false: the eigen-solver failed; all but variance are 0 (reference)
  std::vector<double> eigenvalues;  // eig(Σ + 1e-6 I) clamped at 0, ascending (float32 solve)
};

// x: [n, d] with n >= 2 (any float dtype, any device; evaluated in float32). InvalidArgument if
// x is not 2-D or has fewer than 2 rows. Cost: two n·d² products and two d×d eigensolves.
absl::StatusOr<EmbeddingStats> ComputeEmbeddingStats(const torch::Tensor& x);

struct EmbeddingEvent {
  int64_t step = 0;  // observations so far
  EmbeddingStats context;
  EmbeddingStats target;
  int64_t context_samples = 0;
  int64_t target_samples = 0;
  int64_t vq_active_codes = 0;  // distinct codes in valid (mask > 0.5) slots, context ∪ target
  double vq_usage_ratio = 0;    // vq_active_codes / codebook_size
};

// The reference's EmbeddingDiagnosticsTracker (§6): keeps the newest `max_samples` rows of
// context and target projections and the set of VQ codes used in valid slots; every `interval`
// observations it emits an event and clears both. Thread-compatible.
class EmbeddingDiagnosticsTracker {
 public:
  EmbeddingDiagnosticsTracker(int64_t interval, int64_t max_samples, int64_t codebook_size);

  // context/target: [B, P] projections (copied to CPU float32). Indices and masks: any shape,
  // equal per pair; either index tensor may be undefined (no VQ). Returns the event when this
  // observation completes an interval.
  absl::StatusOr<std::optional<EmbeddingEvent>> Observe(const torch::Tensor& context,
                                                        const torch::Tensor& target,
                                                        const torch::Tensor& context_indices,
                                                        const torch::Tensor& context_mask,
                                                        const torch::Tensor& target_indices,
                                                        const torch::Tensor& target_mask);
  // The partial event over what was observed since the last event (end of training); nullopt if
  // nothing was.
  absl::StatusOr<std::optional<EmbeddingEvent>> Flush();

 private:
  absl::StatusOr<EmbeddingEvent> Emit();

  int64_t interval_;
  int64_t max_samples_;
  int64_t codebook_size_;
  int64_t step_ = 0;
  int64_t since_event_ = 0;
  torch::Tensor context_;  // [<= max_samples, P]
  torch::Tensor target_;
  std::vector<bool> used_codes_;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_EMBEDDING_METRICS_H_
