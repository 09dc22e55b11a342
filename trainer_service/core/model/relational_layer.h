// One pre-LN relational attention layer of reference §3.2: multi-head attention restricted to
// objects whose bounding boxes touch (adjacency + self), then a GELU feed-forward block.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_RELATIONAL_LAYER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_RELATIONAL_LAYER_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace jepalab::trainer {

struct RelationalLayerOptions {
  int64_t hidden_dim = 64;
  int64_t heads = 4;     // must divide hidden_dim
  double dropout = 0.1;  // one rate for the attention weights and both residual branches
};

class RelationalLayerImpl : public torch::nn::Module {
 public:
  explicit RelationalLayerImpl(const RelationalLayerOptions& options);

  // x [M,N,H]; mask [M,N] (1 = real object); adjacency [M,N,N] (1 = boxes touch, 0 on the
  // diagonal). Allowed pairs: (adjacency + I) among real objects, plus a self-loop for padding
  // so no softmax row is empty. Returns [M,N,H] with padded slots zeroed.
  //
  // copies > 1: every input row stands for `copies` identical consecutive rows (a context
  // window whose frames repeat one grid, reference §0.6); the output has M·copies rows. Equal
  // to forward on the repeated input: the work up to the attention weights is done once per
  // distinct row, each copy then gets its own dropout draws.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask,
                        const torch::Tensor& adjacency, int64_t copies = 1);

 private:
  torch::Tensor Attention(const torch::Tensor& x, const torch::Tensor& allowed, int64_t copies);
  torch::Tensor Dropout(const torch::Tensor& x);

  RelationalLayerOptions options_;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, out{nullptr};
  torch::nn::Linear ffn_in{nullptr}, ffn_out{nullptr};
};
TORCH_MODULE(RelationalLayer);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_RELATIONAL_LAYER_H_
