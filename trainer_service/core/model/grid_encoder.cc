#include "trainer_service/core/model/grid_encoder.h"

#include <torch/torch.h>

namespace jepalab::trainer {

GridEncoderImpl::GridEncoderImpl(const GridEncoderOptions& options) : options_(options) {
  const int64_t h = options.hidden_dim;
  color_embedding = register_module("color_embedding", torch::nn::Embedding(options.num_colors, h));
  coord_proj = register_module("coord_proj", torch::nn::Linear(2, h));
  cell_mlp_in = register_module("cell_mlp_in", torch::nn::Linear(h, h));
  cell_mlp_out = register_module("cell_mlp_out", torch::nn::Linear(h, h));
  pooled_norm = register_module("pooled_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
}

torch::Tensor GridEncoderImpl::Activate(const torch::Tensor& x) const {
  return options_.activation == "relu" ? torch::relu(x) : torch::gelu(x);
}

torch::Tensor GridEncoderImpl::forward(const torch::Tensor& colors, const torch::Tensor& coords,
                                       const torch::Tensor& mask) {
  torch::Tensor cells = color_embedding(colors) + coord_proj(coords);  // [M, S, H]
  cells = cell_mlp_out(Activate(cell_mlp_in(Activate(cells))));
  // Masked mean: sum_n m_n x_n / max(sum_n m_n, 1) (reference §3.5).
  const torch::Tensor m = mask.unsqueeze(-1);
  return pooled_norm((cells * m).sum(1) / m.sum(1).clamp_min(1.0));
}

}  // namespace jepalab::trainer
