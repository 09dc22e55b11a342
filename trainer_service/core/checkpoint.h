// Checkpoints holding all of a run's state, so that a resumed run continues exactly: online and
// target networks (VQ buffers included), log-τ, optimizer state, negatives queue, counters (LR
// step, epoch, early stopping, SIGReg seed counter, VQ refresh totals, position inside the epoch)
// and the CPU and CUDA RNGs.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_CHECKPOINT_H_
#define JEPALAB_TRAINER_SERVICE_CORE_CHECKPOINT_H_

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "trainer_service/core/losses/negative_queue.h"
#include "trainer_service/core/model/jepa_model.h"

namespace jepalab::trainer {

// Scalars of the loop.
struct TrainingCounters {
  int64_t steps = 0;  // optimizer steps done (the LR schedule's position)
  int32_t epoch = 0;  // epochs completed
  std::optional<double> best_val_loss;
  int32_t early_stopping_wait = 0;
  int64_t sigreg_step = 0;
  double last_train_loss = 0;
  int64_t vq_refreshes = 0, vq_reinitialised = 0, vq_reinitialised_in_use = 0,
          vq_revivals_survived = 0;
  // The same for the target encoder's VQ (compat.train_mode_everywhere refreshes it too).
  int64_t vq_target_refreshes = 0, vq_target_reinitialised = 0, vq_target_reinitialised_in_use = 0,
          vq_target_revivals_survived = 0;
  // A checkpoint written inside epoch `epoch + 1` (training.checkpoint_every_steps): the
  // micro-batches of that epoch already trained and the sum of their losses. 0 at epoch ends.
  int64_t epoch_batches_done = 0;
  double epoch_loss_sum = 0;
};

// The tensors and modules a checkpoint covers. `target` may be null.
struct TrainingState {
  JepaModelImpl* online = nullptr;
  JepaModelImpl* target = nullptr;
  torch::Tensor* log_temperature = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  NegativeQueue* queue = nullptr;
};

// Writes `path` atomically (a temporary file renamed into place). Internal on failure.
absl::Status SaveCheckpoint(const std::string& path, const TrainingState& state,
                            const TrainingCounters& counters);
// Restores everything into `state` (built for the same config) and `counters`. NotFound when
// the file is missing; InvalidArgument when it does not match the model.
absl::Status LoadCheckpoint(const std::string& path, const TrainingState& state,
                            TrainingCounters* counters);

// "<dir>/checkpoint_latest.pt" and "<dir>/checkpoint_epoch_0003.pt" (reference §5 names).
std::string LatestCheckpointPath(const std::string& dir);
std::string EpochCheckpointPath(const std::string& dir, int32_t epoch);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_CHECKPOINT_H_
