// The relational layer's attention core (reference §3.2) for the CPU as one kernel per grid and
// head: scaled q·kᵀ, the adjacency mask, softmax, the re-zeroing of disallowed weights, dropout of
// the weights and the product with v, with a hand-written backward. Unfused, these are nine ATen
// ops and four layout copies per call over [M, heads, N, N] tensors of 16×16 blocks, each op a
// full pass over memory (docs/performance.md). Dropout draws the mask FastDropout would draw
// for the [M·copies, heads, N, N] weights from the same seed, so the results equal the unfused
// path up to float rounding.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_FUSED_ATTENTION_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_FUSED_ATTENTION_H_

#include <torch/types.h>

#include <cstdint>

namespace jepalab::trainer {

// True for float32 CPU tensors [M, N, H] with N and H/heads multiples of 8 on a CPU with AVX2 and
// FMA; anything else uses the unfused ATen ops.
bool FusedAttentionApplies(const torch::Tensor& q, int64_t heads);

// The shape and CPU part of that check: N objects per grid, head dimension H/heads.
bool FusedAttentionSupports(int64_t objects, int64_t head_dim);

// q, k, v [M, N, H] with the heads side by side along H (head h is columns h·d .. h·d+d−1);
// allowed [M, N, N] bool, every row with at least one allowed entry. Returns [M·copies, N, H]:
// row block m·copies + c is softmax(q kᵀ/√d over the allowed pairs) · dropout_c · v for grid m,
// where each copy c draws its own dropout mask (`dropout` = p in [0, 1); 0: none). Differentiable
// in q, k and v.
torch::Tensor FusedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& allowed, int64_t heads, int64_t copies,
                             double dropout);

// The same computation as ATen ops (SmallBmm, softmax, FastDropout), on any device and shape:
// what the relational layer runs where FusedAttentionApplies is false. Draws the same dropout mask.
torch::Tensor UnfusedAttention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& allowed, int64_t heads,
                               int64_t copies, double dropout);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_FUSED_ATTENTION_H_
