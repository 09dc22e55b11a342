// Events and retries: applies what a trainer reports about a run (state changes, progress,
// metrics, the run as polled) to its record, and decides whether a lost or interrupted run is
// queued for another attempt or has used up max_attempts.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_RUN_EVENTS_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_RUN_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "scheduler_service/core/experiment_registry.h"
#include "scheduler_service/core/run_progress.h"
#include "scheduler_service/core/trainer_client.h"

namespace jepalab::scheduler {

// Thread-safe through the Scheduler's mutex `mu`: the *Locked methods need it held, the
// others take it. Does not own its arguments.
class RunEvents {
 public:
  // What a run's end or retry means for dispatch and following; called with `mu` held.
  class Listener {
   public:
    virtual ~Listener() = default;
    // A run that was on a trainer ended: its slot is free.
    virtual void OnRunEndedOnTrainerLocked() = 0;
    // The run goes back to the queue (at the front) for another attempt; the watcher of its
    // last attempt is done.
    virtual void OnRetryLocked(const std::string& run_id) = 0;
  };

  RunEvents(absl::Mutex* mu, const common::Clock* clock, ExperimentRegistry* registry,
            int max_attempts, Listener* listener);

  // Both ignore news of an earlier attempt (`attempt` is the run's attempts when it was
  // dispatched) and of runs that already ended. A terminal state marked retryable (the
  // trainer restarted under the run) retries it. ApplyEventLocked notes the event in
  // `progress` (may be null) when it is for the current attempt.
  void ApplyEventLocked(const std::string& run_id, int32_t attempt,
                        const TrainerClient::RunEvent& event, RunProgress* progress)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyRun(const std::string& run_id, int32_t attempt, const TrainerClient::Run& run)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends a run that is not yet terminal FAILED with `message`.
  void FailRun(const std::string& run_id, const std::string& message) ABSL_LOCKS_EXCLUDED(mu_);
  // Queues the run for another start (resuming on its trainer) or, after max_attempts starts
  // or when it is no longer wanted (cancelled experiment, collapse stop), ends it; `reason` is
  // recorded either way. Ignored for an earlier attempt.
  void RetryRun(const std::string& run_id, int32_t attempt, const std::string& reason)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void RetryRunLocked(ExperimentRegistry::Entry& entry, RunRecord* run, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunEndedLocked(const RunRecord& run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The run's record if it is still on `attempt` and has not ended; null otherwise.
  RunRecord* CurrentLocked(const std::string& run_id, int32_t attempt,
                           ExperimentRegistry::Entry** entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex* const mu_;
  const common::Clock* const clock_;
  ExperimentRegistry* const registry_ ABSL_PT_GUARDED_BY(mu_);
  const int max_attempts_;
  Listener* const listener_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_RUN_EVENTS_H_
