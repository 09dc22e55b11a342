#include "trainer_service/core/model/context_aggregation.h"

#include <torch/torch.h>

namespace jepalab::trainer {

torch::Tensor MaskedMeanPool(const torch::Tensor& objects, const torch::Tensor& mask) {
  const torch::Tensor m = mask.to(objects.dtype()).unsqueeze(-1);  // [M,N,1]
  return (objects * m).sum(1) / m.sum(1).clamp_min(1.0);
}

ContextAggregationImpl::ContextAggregationImpl(const ContextAggregationOptions& options)
    : options_(options) {
  if (options.mode == "learned") {
    time_weights = register_module(
        "time_weights", torch::nn::Linear(options.context_window, options.context_window));
  }
}

torch::Tensor ContextAggregationImpl::forward(const torch::Tensor& grids) {
  if (options_.mode == "last") return grids.select(1, grids.size(1) - 1);
  if (options_.mode == "learned") {
    const torch::Tensor by_channel = grids.transpose(1, 2);                      // [B,H,T]
    const torch::Tensor weights = torch::softmax(time_weights(by_channel), -1);  // over T
    return (weights * by_channel).sum(-1);
  }
  return grids.mean(1);
}

}  // namespace jepalab::trainer
