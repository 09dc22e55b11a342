#include "trainer_service/core/model/object_encoder.h"

#include <torch/torch.h>

#include "trainer_service/core/model/parallel_linear.h"
#include "trainer_service/core/model/relational_layer.h"

namespace jepalab::trainer {

ObjectEncoderImpl::ObjectEncoderImpl(const ObjectEncoderOptions& options) : options_(options) {
  input = register_module("input", torch::nn::Linear(options.feature_dim, options.hidden_dim));
  hidden = register_module("hidden", torch::nn::Linear(options.hidden_dim, options.hidden_dim));
  relational = register_module("relational", torch::nn::ModuleList());
  if (options.relational) {
    for (int64_t i = 0; i < options.relational_layers; ++i) {
      relational->push_back(RelationalLayer(RelationalLayerOptions{
          options.hidden_dim, options.relational_heads, options.relational_dropout}));
    }
  }
}

torch::Tensor ObjectEncoderImpl::forward(const torch::Tensor& features, const torch::Tensor& mask,
                                         const torch::Tensor& adjacency, int64_t copies) {
  torch::Tensor h = ParallelLinear(features, input->weight, input->bias);
  h = options_.activation == "relu" ? torch::relu(h) : torch::gelu(h);
  h = ParallelLinear(h, hidden->weight, hidden->bias);
  torch::Tensor m = mask, a = adjacency;
  for (const auto& layer : *relational) {
    h = layer->as<RelationalLayer>()->forward(h, m, a, copies);
    if (copies > 1) {  // the rows differ from here on (dropout)
      m = m.repeat_interleave(copies, 0);
      a = a.repeat_interleave(copies, 0);
      copies = 1;
    }
  }
  return copies > 1 ? h.repeat_interleave(copies, 0) : h;
}

}  // namespace jepalab::trainer
