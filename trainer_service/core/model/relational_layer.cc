#include "trainer_service/core/model/relational_layer.h"

#include <torch/torch.h>

#include <vector>

#include "trainer_service/core/model/fast_dropout.h"
#include "trainer_service/core/model/fused_attention.h"
#include "trainer_service/core/model/parallel_linear.h"

namespace jepalab::trainer {
namespace {

// [U, ...] -> [U·copies, ...], each row repeated `copies` times in place (no copy when 1).
torch::Tensor RepeatRows(const torch::Tensor& t, int64_t copies) {
  if (copies == 1) return t;
  std::vector<int64_t> expanded = t.sizes().vec();
  expanded.insert(expanded.begin() + 1, copies);
  std::vector<int64_t> flat = t.sizes().vec();
  flat[0] *= copies;
  return t.unsqueeze(1).expand(expanded).reshape(flat);
}

torch::Tensor Apply(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return ParallelLinear(x, layer->weight, layer->bias);
}

}  // namespace

RelationalLayerImpl::RelationalLayerImpl(const RelationalLayerOptions& options)
    : options_(options) {
  const int64_t h = options.hidden_dim;
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
  query = register_module("query", torch::nn::Linear(h, h));
  key = register_module("key", torch::nn::Linear(h, h));
  value = register_module("value", torch::nn::Linear(h, h));
  out = register_module("out", torch::nn::Linear(h, h));
  ffn_in = register_module("ffn_in", torch::nn::Linear(h, 2 * h));
  ffn_out = register_module("ffn_out", torch::nn::Linear(2 * h, h));
}

torch::Tensor RelationalLayerImpl::Dropout(const torch::Tensor& x) {
  return FastDropout(x, options_.dropout, is_training());
}

torch::Tensor RelationalLayerImpl::Attention(const torch::Tensor& x, const torch::Tensor& allowed,
                                             int64_t copies) {
  const int64_t heads = options_.heads;
  const torch::Tensor q = Apply(query, x), k = Apply(key, x), v = Apply(value, x);  // [M,N,H]
  const double p = is_training() ? options_.dropout : 0.0;
  const auto attend = FusedAttentionApplies(q, heads) ? FusedAttention : UnfusedAttention;
  return Apply(out, attend(q, k, v, allowed, heads, copies, p));
}

torch::Tensor RelationalLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                           const torch::Tensor& adjacency, int64_t copies) {
  TORCH_CHECK(copies >= 1, "RelationalLayer: copies must be >= 1");
  const torch::Tensor valid = mask > 0.5;                                     // [M,N]
  const torch::Tensor valid_pairs = valid.unsqueeze(2) & valid.unsqueeze(1);  // [M,N,N]
  const torch::Tensor eye =
      torch::eye(x.size(1), torch::TensorOptions().dtype(torch::kBool).device(x.device()));
  torch::Tensor allowed = ((adjacency > 0.5) | eye.unsqueeze(0)) & valid_pairs;
  allowed = allowed | (eye.unsqueeze(0) & valid.logical_not().unsqueeze(2));  // padding: self-loop
  const torch::Tensor mask_f = RepeatRows(mask.unsqueeze(-1).to(x.dtype()), copies);

  torch::Tensor h = RepeatRows(x, copies) + Dropout(Attention(norm1(x), allowed, copies) * mask_f);
  h = h + Dropout(Apply(ffn_out, torch::gelu(Apply(ffn_in, norm2(h)))));
  return h * mask_f;
}

}  // namespace jepalab::trainer
