// The reduced JEPA network: grid encoder + projection head, with the context path (encode each
// context grid, mean over the window: the reference's "double mean pooling", §3.5) and the
// target path. The full object/relational/VQ model replaces the encoder later.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_REDUCED_JEPA_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_REDUCED_JEPA_H_

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "trainer_service/core/data/grid_batch.h"
#include "trainer_service/core/model/grid_encoder.h"
#include "trainer_service/core/model/projection_head.h"

namespace jepalab::trainer {

// A PaddedGrids batch as tensors on one device.
struct GridTensors {
  torch::Tensor colors;  // [M, S] int64
  torch::Tensor coords;  // [M, S, 2] float
  torch::Tensor mask;    // [M, S] float
};
GridTensors ToTensors(const PaddedGrids& grids, const torch::Device& device);

struct ReducedJepaOptions {
  GridEncoderOptions encoder;
  ProjectionHeadOptions projection;
};

class ReducedJepaImpl : public torch::nn::Module {
 public:
  explicit ReducedJepaImpl(const ReducedJepaOptions& options);

  // Context grids are `window` consecutive rows per sample -> [B, P].
  torch::Tensor ContextProjection(const GridTensors& context, int64_t window);
  // One grid per sample -> [B, P].
  torch::Tensor TargetProjection(const GridTensors& target);

 private:
  GridEncoder encoder{nullptr};
  ProjectionHead projection{nullptr};
};
TORCH_MODULE(ReducedJepa);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_REDUCED_JEPA_H_
