#include "trainer_service/core/losses/relational_loss.h"

#include <torch/torch.h>

#include "trainer_service/core/model/small_bmm.h"

namespace jepalab::trainer {

torch::Tensor RelationMatrix(const torch::Tensor& embeddings, const torch::Tensor& mask,
                             const torch::Tensor& adjacency) {
  TORCH_CHECK(embeddings.dim() == 3, "RelationMatrix: embeddings must be [M, N, H]");
  // ‖e_i − e_j‖² = ‖e_i‖² + ‖e_j‖² − 2 e_i·e_j: one batched product instead of the reference's
  // [M, N, N, H] difference tensor (and its backward). Clamped at 0 against rounding.
  const torch::Tensor sq = embeddings.pow(2).sum(-1);  // [M, N]
  const torch::Tensor dist =
      (sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * SmallBmm(embeddings, embeddings.transpose(1, 2)))
          .clamp_min(0);
  const torch::Tensor m = mask.to(dist.dtype());
  const torch::Tensor pair = m.unsqueeze(2) * m.unsqueeze(1);
  return dist * (adjacency > 0).to(dist.dtype()) * pair;
}

RelationalLossResult RelationalLoss(const torch::Tensor& context_embeddings,
                                    const torch::Tensor& context_mask,
                                    const torch::Tensor& context_adjacency,
                                    const torch::Tensor& target_embeddings,
                                    const torch::Tensor& target_mask,
                                    const torch::Tensor& target_adjacency, int64_t context_length,
                                    double weight, double context_self_weight) {
  TORCH_CHECK(context_length >= 1, "RelationalLoss: context_length must be >= 1");
  const int64_t b = target_embeddings.size(0);
  const int64_t n = target_embeddings.size(1);
  TORCH_CHECK(context_embeddings.size(0) == b * context_length,
              "RelationalLoss: context rows must be batch * context_length");
  RelationalLossResult r;
  r.context_relations = RelationMatrix(context_embeddings, context_mask, context_adjacency)
                            .reshape({b, context_length, n, n});
  r.context_mean = r.context_relations.mean(1);
  r.target_relations = RelationMatrix(target_embeddings, target_mask, target_adjacency);
  r.mse_term = torch::mse_loss(r.context_mean, r.target_relations);
  r.loss = weight * r.mse_term;
  if (context_length > 1) {
    r.context_self_term = (r.context_relations - r.context_mean.unsqueeze(1)).pow(2).mean();
    r.loss = r.loss + context_self_weight * r.context_self_term;
  }
  return r;
}

}  // namespace jepalab::trainer
