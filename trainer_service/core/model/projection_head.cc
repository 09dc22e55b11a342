#include "trainer_service/core/model/projection_head.h"

#include <torch/torch.h>

namespace jepalab::trainer {

ProjectionHeadImpl::ProjectionHeadImpl(const ProjectionHeadOptions& options) : options_(options) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers; ++i) {
    layers->push_back(torch::nn::Linear(i == 0 ? options.input_dim : options.projection_dim,
                                        options.projection_dim));
  }
}

torch::Tensor ProjectionHeadImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (const auto& layer : *layers) {
    h = layer->as<torch::nn::Linear>()->forward(h);
    h = options_.activation == "gelu" ? torch::gelu(h) : torch::relu(h);
  }
  return torch::nn::functional::normalize(h, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

}  // namespace jepalab::trainer
