// Stop on collapse: follows a running run's collapse events from metrics_service and, once its
// StopOnCollapsePolicy confirms a collapse, records the stop on the run and cancels it on its
// trainer, retrying the cancel (on the injected clock) while that trainer is down.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_COLLAPSE_STOPPER_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_COLLAPSE_STOPPER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "scheduler_service/core/cancel_token.h"
#include "scheduler_service/core/experiment_registry.h"
#include "scheduler_service/core/metrics_client.h"
#include "scheduler_service/core/trainer_pool.h"

namespace jepalab::scheduler {

// Thread-safe through the Scheduler's mutex `mu`. Shares `metrics`; does not own the rest.
class CollapseStopper {
 public:
  // `poll_interval`: how often a broken event stream or a refused cancel is retried.
  CollapseStopper(absl::Mutex* mu, const common::Clock* clock, ExperimentRegistry* registry,
                  const TrainerPool* pool, std::shared_ptr<MetricsClient> metrics,
                  absl::Duration poll_interval);

  // Blocks on the calling thread: follows `run_id`'s collapse events until `policy` confirms
  // a collapse (then stops the run) or `cancel` fires. Cancel `cancel` under `mu` so a wait
  // between retries sees it at once.
  void Follow(const std::string& run_id, const v1::StopOnCollapsePolicy& policy,
              CancelToken* cancel) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends every wait between retries.
  void StopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { stopping_ = true; }

 private:
  // Records the collapse stop on the run (once) and asks its trainer to cancel it.
  void Stop(const std::string& run_id, int64_t step, const std::string& indicator)
      ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex* const mu_;
  const common::Clock* const clock_;
  ExperimentRegistry* const registry_ ABSL_PT_GUARDED_BY(mu_);
  const TrainerPool* const pool_;
  const std::shared_ptr<MetricsClient> metrics_;
  const absl::Duration poll_interval_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_COLLAPSE_STOPPER_H_
