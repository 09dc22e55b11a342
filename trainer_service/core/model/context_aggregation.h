// Per-grid pooling and context aggregation (reference §3.5): masked mean over objects, then
// the context window combined by `mean` (the diagnostic-era double mean pool), `last` (the
// most recent grid, keeps order) or `learned` (HEAD's context_attention: Linear(T,T) + softmax
// over time, a separate weighting per hidden channel).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_CONTEXT_AGGREGATION_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_CONTEXT_AGGREGATION_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace jepalab::trainer {

// h = sum_n m_n x_n / max(sum_n m_n, 1): [M,N,H], [M,N] -> [M,H].
torch::Tensor MaskedMeanPool(const torch::Tensor& objects, const torch::Tensor& mask);

struct ContextAggregationOptions {
  std::string mode = "mean";  // mean | last | learned
  int64_t context_window = 3;
};

class ContextAggregationImpl : public torch::nn::Module {
 public:
  explicit ContextAggregationImpl(const ContextAggregationOptions& options);
  // [B,T,H] -> [B,H].
  torch::Tensor forward(const torch::Tensor& grids);

 private:
  ContextAggregationOptions options_;
  torch::nn::Linear time_weights{nullptr};  // learned mode only
};
TORCH_MODULE(ContextAggregation);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_CONTEXT_AGGREGATION_H_
