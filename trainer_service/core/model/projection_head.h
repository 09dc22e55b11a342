// Projection head of reference §3.6: Linear(H,P) -> act -> [Linear(P,P) -> act] x (layers-1)
// -> L2 normalisation. It ends with the activation, so ReLU projections are non-negative (§0.8).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_PROJECTION_HEAD_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_PROJECTION_HEAD_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace jepalab::trainer {

struct ProjectionHeadOptions {
  int64_t input_dim = 64;
  int64_t projection_dim = 32;
  int64_t layers = 2;
  std::string activation = "relu";  // relu | gelu
};

class ProjectionHeadImpl : public torch::nn::Module {
 public:
  explicit ProjectionHeadImpl(const ProjectionHeadOptions& options);
  // [B, H] -> [B, P], unit L2 norm per row (a zero row stays zero).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ProjectionHeadOptions options_;
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(ProjectionHead);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_PROJECTION_HEAD_H_
