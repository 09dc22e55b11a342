// The full JEPA network of reference §3: object encoder (MLP + relational layers) → VQ (when
// enabled) → masked mean per grid → context aggregation over the window → projection head.
// The trainer builds two: the online network and, with use_target_encoder, its EMA copy (§3.7).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_JEPA_MODEL_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_JEPA_MODEL_H_

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <optional>

#include "proto/config/trainer_config.pb.h"
#include "trainer_service/core/data/token_batch.h"
#include "trainer_service/core/model/context_aggregation.h"
#include "trainer_service/core/model/object_encoder.h"
#include "trainer_service/core/model/projection_head.h"
#include "trainer_service/core/model/vq_codebook.h"

namespace jepalab::trainer {

// A TokenBatch as tensors on one device (float32).
struct TokenTensors {
  torch::Tensor context_features;   // [B, T, N, F]
  torch::Tensor context_mask;       // [B, T, N]
  torch::Tensor context_adjacency;  // [B, T, N, N]
  torch::Tensor target_features;    // [B, N, F]
  torch::Tensor target_mask;        // [B, N]
  torch::Tensor target_adjacency;   // [B, N, N]
};
TokenTensors ToTensors(const TokenBatch& batch, const torch::Device& device);

// True when every context frame of every sample equals its first frame (features [B,T,N,F],
// mask [B,T,N], adjacency [B,T,N,N]): the synthetic data pads the window with copies of one
// grid (reference §0.6), and EncodeContext then encodes each distinct grid's shared part once.
bool FramesRepeatFirst(const torch::Tensor& features, const torch::Tensor& mask,
                       const torch::Tensor& adjacency);

struct JepaModelOptions {
  ObjectEncoderOptions encoder;
  std::optional<VqCodebookOptions> vq;  // unset: no VQ
  ContextAggregationOptions aggregation;
  ProjectionHeadOptions projection;
};

// The options a config describes: object_encoder.*, tokenizer feature width, model.
// context_aggregation, data.context_window, loss.projection_*, and compat.vq_* mapped onto the
// VQ's reference-compatibility switches.
JepaModelOptions JepaModelOptionsFromConfig(const config::v1::TrainerConfig& config);

// One side's encoding.
struct Encoding {
  torch::Tensor objects;  // [M, N, H] object embeddings (post-VQ), M = B·T (context) or B
  torch::Tensor indices;  // [M, N] VQ codes; undefined without VQ
  torch::Tensor vq_loss;  // scalar; undefined without VQ
  torch::Tensor repr;     // [B, H] pre-projection representation
};

class JepaModelImpl : public torch::nn::Module {
 public:
  explicit JepaModelImpl(const JepaModelOptions& options);

  // features [B,T,N,F], mask [B,T,N], adjacency [B,T,N,N]: per-grid masked mean, then the
  // context aggregation over T.
  Encoding EncodeContext(const torch::Tensor& features, const torch::Tensor& mask,
                         const torch::Tensor& adjacency);
  // features [B,N,F], mask [B,N], adjacency [B,N,N]: the masked mean.
  Encoding EncodeTarget(const torch::Tensor& features, const torch::Tensor& mask,
                        const torch::Tensor& adjacency);
  // [B,H] -> [B,P], unit rows.
  torch::Tensor Project(const torch::Tensor& repr) { return projection(repr); }

  const JepaModelOptions& options() const { return options_; }
  // Null without VQ.
  VqCodebook vq_codebook() const { return vq; }

 private:
  // [M,N,F] -> objects [M·copies,N,H], indices, vq loss (see ObjectEncoder on `copies`).
  Encoding EncodeObjects(const torch::Tensor& features, const torch::Tensor& mask,
                         const torch::Tensor& adjacency, int64_t copies);

  JepaModelOptions options_;
  ObjectEncoder encoder{nullptr};
  VqCodebook vq{nullptr};
  ContextAggregation aggregation{nullptr};
  ProjectionHead projection{nullptr};
};
TORCH_MODULE(JepaModel);

// Makes `target` a frozen copy of `online` (parameters and buffers: the reference deep-copies,
// VQ state included, §3.7).
void CopyIntoTarget(JepaModelImpl& target, const JepaModelImpl& online);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_JEPA_MODEL_H_
