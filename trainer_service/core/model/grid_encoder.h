// Reduced grid encoder: colour embedding plus normalised (y, x) per cell, a per-cell MLP and a
// masked mean pool over cells (the per-grid pooling of reference §3.5, on cells, not objects).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_GRID_ENCODER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_GRID_ENCODER_H_

#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace jepalab::trainer {

struct GridEncoderOptions {
  int64_t num_colors = 32;
  int64_t hidden_dim = 64;
  std::string activation = "gelu";  // gelu | relu
};

class GridEncoderImpl : public torch::nn::Module {
 public:
  explicit GridEncoderImpl(const GridEncoderOptions& options);

  // colors [M, S] int64, coords [M, S, 2] float, mask [M, S] float (1 = real cell) -> [M, H].
  // Padding cells never change the result.
  torch::Tensor forward(const torch::Tensor& colors, const torch::Tensor& coords,
                        const torch::Tensor& mask);

 private:
  torch::Tensor Activate(const torch::Tensor& x) const;

  GridEncoderOptions options_;
  torch::nn::Embedding color_embedding{nullptr};
  torch::nn::Linear coord_proj{nullptr};
  torch::nn::Linear cell_mlp_in{nullptr};
  torch::nn::Linear cell_mlp_out{nullptr};
  torch::nn::LayerNorm pooled_norm{nullptr};
};
TORCH_MODULE(GridEncoder);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_GRID_ENCODER_H_
