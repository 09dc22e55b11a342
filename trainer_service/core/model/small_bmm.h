// Batched products of many small matrices ([B, n, k] @ [B, k, m], e.g. the relational layer's
// 16×16 per-head attention products) for the CPU. ATen's CPU bmm handles such a batch as one
// select + addmm + BLAS call per matrix, about 1.4 µs each, 10× the arithmetic; on the mini model
// that was ~20% of a training step (docs/performance.md). This runs one register-blocked loop per
// matrix, with autograd. Float32 CPU tensors with m a multiple of 16 take the fast path,
// anything else torch::matmul.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_SMALL_BMM_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_SMALL_BMM_H_

#include <torch/types.h>

namespace jepalab::trainer {

// a [..., n, k] @ b [..., k, m] with equal leading dimensions (no broadcasting) -> [..., n, m].
torch::Tensor SmallBmm(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_SMALL_BMM_H_
