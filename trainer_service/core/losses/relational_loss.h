// Relational consistency loss (reference §4.5): pairwise squared distances between adjacent
// valid objects, context (mean over its T frames) against target, plus the context-self term.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_LOSSES_RELATIONAL_LOSS_H_
#define JEPALAB_TRAINER_SERVICE_CORE_LOSSES_RELATIONAL_LOSS_H_

#include <torch/types.h>

#include <cstdint>

namespace jepalab::trainer {

// embeddings [M, N, H], mask [M, N], adjacency [M, N, N] -> R [M, N, N]:
// R_ij = ‖x_i − x_j‖² · (adjacency_ij > 0) · mask_i · mask_j.
torch::Tensor RelationMatrix(const torch::Tensor& embeddings, const torch::Tensor& mask,
                             const torch::Tensor& adjacency);

struct RelationalLossResult {
  torch::Tensor loss;               // weight·mse_term + context_self_weight·context_self_term
  torch::Tensor mse_term;           // MSE(mean_T R_ctx, R_tgt), mean over B·N·N incl. zeros
  torch::Tensor context_self_term;  // mean((R_ctx − mean_T R_ctx)²); undefined when T == 1
  torch::Tensor context_relations;  // [B, T, N, N]
  torch::Tensor context_mean;       // [B, N, N]
  torch::Tensor target_relations;   // [B, N, N]
};

// Context rows [B·T, ...] (frames of a sample consecutive), target rows [B, ...]. Objects are
// matched by slot index. The self term is applied only when context_length > 1.
RelationalLossResult RelationalLoss(const torch::Tensor& context_embeddings,
                                    const torch::Tensor& context_mask,
                                    const torch::Tensor& context_adjacency,
                                    const torch::Tensor& target_embeddings,
                                    const torch::Tensor& target_mask,
                                    const torch::Tensor& target_adjacency, int64_t context_length,
                                    double weight, double context_self_weight);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_LOSSES_RELATIONAL_LOSS_H_
