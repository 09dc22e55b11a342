// Entry point of one training run: the full JEPA of the reference (object encoder, relational
// layers, VQ, context aggregation, projection head, EMA target; InfoNCE/L2 + SIGReg +
// invariance + relational losses) trained in the calling thread. No torch types here.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_TRAINER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_TRAINER_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/common.pb.h"
#include "proto/config/trainer_config.pb.h"
#include "trainer_service/core/metrics_sink.h"

namespace jepalab::trainer {

using ::jepalab::common::v1::RunProgress;
using ::jepalab::common::v1::RunState;

struct RunContext {
  std::string run_id;  // for log lines only
  // Where checkpoints go (checkpoint_latest.pt every epoch, checkpoint_epoch_NNNN.pt every
  // training.checkpoint_interval epochs and at the last); empty: training.checkpoint_dir, and
  // no checkpoints when that is unset too.
  std::string checkpoint_dir;
  // A checkpoint of a run with the same config to continue from (exactly: the next step's loss
  // is the one the uninterrupted run had); empty: start afresh.
  std::string resume_from;
  // With resume_from empty: continue from the latest checkpoint in the checkpoint dir if there
  // is one (a retried run), else start afresh.
  bool resume_latest = false;
  // Which start of the run this is (1 = first; the run manager counts resumed retries), for
  // debug.fault_on_attempt.
  int32_t attempt = 1;
  // Intra-op threads when training.num_threads is 0; 0: every core. A trainer running several
  // runs at once gives each its share of the cores (trainer_server --threads_per_run).
  int default_threads = 0;
};

// Told about the run's progress; called on the training thread, so keep it quick.
class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  // Once, after data and model are built: the device ("cpu", "cuda:0") and the plan.
  virtual void OnStart(const std::string& device, const RunProgress& progress) = 0;
  // After every optimizer step and at the end of every epoch.
  virtual void OnProgress(const RunProgress& progress) = 0;
};

struct RunOutcome {
  RunState state =
      RunState::RUN_STATE_UNSPECIFIED;  // SUCCEEDED, EARLY_STOPPED, DIVERGED or CANCELLED
  std::string message;                  // why it diverged, stopped early or was cancelled
  std::string device;
  int64_t steps = 0;        // optimizer steps done
  int32_t epochs = 0;       // epochs started
  int64_t total_steps = 0;  // planned
  double last_train_loss = 0;
  double best_val_loss = 0;
  // Wall-clock breakdown in seconds (benchmarks, bench/python_vs_cpp_bench.sh). train: the
  // training loops of all epochs (validation and data loading/generation excluded); within it
  // data_wait (blocked on the token prefetcher), forward (objective incl. invariance re-encodings
  // and the host sync of the loss terms), backward, optimizer (clip, Adam, target EMA, queue,
  // metrics) and diagnostics (the embedding-metrics tracker, event computation included).
  struct Timings {
    double train = 0;
    double data_wait = 0;
    double forward = 0;
    double backward = 0;
    double optimizer = 0;
    double diagnostics = 0;
    double validation = 0;
    int64_t train_samples = 0;  // micro-batch rows trained on
  } timings;
};

// Runs training to the end. `sink` and `listener` may be null; `cancel` (may be null) is polled
// between micro-batches and ends the run CANCELLED. A config that fails validation is
// InvalidArgument; a LibTorch failure (c10::Error, e.g. debug.fault=torch_error) is Internal.
// Numerical divergence is not an error: it is the outcome DIVERGED, naming the term and step.
// Never throws. debug.fault=abort|segfault really abort / raise SIGSEGV (tests of the worker).
absl::StatusOr<RunOutcome> RunTraining(const config::v1::TrainerConfig& config,
                                       const RunContext& context, MetricsSink* sink,
                                       ProgressListener* listener, const std::atomic<bool>* cancel);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_TRAINER_H_
