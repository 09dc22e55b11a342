// Object token encoder of reference §3.1 (before VQ): per-object features -> Linear -> act ->
// Linear -> optional stack of relational layers (§3.2). Padded slots leave it as zeros when
// the relational stack is on (each layer multiplies by the mask), as MLP(0) otherwise.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_OBJECT_ENCODER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_OBJECT_ENCODER_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace jepalab::trainer {

struct ObjectEncoderOptions {
  int64_t feature_dim = 23;  // 13 + tokenizer.max_color_features
  int64_t hidden_dim = 64;
  std::string activation = "gelu";  // gelu | relu
  bool relational = true;
  int64_t relational_layers = 1;
  int64_t relational_heads = 4;
  double relational_dropout = 0.1;
};

class ObjectEncoderImpl : public torch::nn::Module {
 public:
  explicit ObjectEncoderImpl(const ObjectEncoderOptions& options);

  // features [M,N,F], mask [M,N], adjacency [M,N,N] -> object embeddings [M,N,H].
  // copies > 1: each input row stands for `copies` identical consecutive rows and the output
  // has M·copies rows, equal to encoding the repeated input (RelationalLayer shares the work
  // before the first dropout). Without relational layers the output is repeated.
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& mask,
                        const torch::Tensor& adjacency, int64_t copies = 1);

 private:
  ObjectEncoderOptions options_;
  torch::nn::Linear input{nullptr}, hidden{nullptr};
  torch::nn::ModuleList relational{nullptr};
};
TORCH_MODULE(ObjectEncoder);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_OBJECT_ENCODER_H_
