// The scheduler core: validates and queues experiments and sweeps, dispatches their runs to
// trainers, follows each running run and keeps every record durable across restarts.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULER_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "proto/scheduler.pb.h"
#include "scheduler_service/core/collapse_stopper.h"
#include "scheduler_service/core/dispatcher.h"
#include "scheduler_service/core/experiment_registry.h"
#include "scheduler_service/core/experiment_state.h"
#include "scheduler_service/core/experiment_store.h"
#include "scheduler_service/core/metrics_client.h"
#include "scheduler_service/core/run_events.h"
#include "scheduler_service/core/run_follower.h"
#include "scheduler_service/core/submission.h"
#include "scheduler_service/core/trainer_client.h"
#include "scheduler_service/core/trainer_pool.h"

namespace jepalab::scheduler {

struct SchedulerOptions {
  // Where the experiment database lives; must exist.
  std::string data_dir;
  // Trainers to dispatch to, tried round-robin. At least one.
  std::vector<std::shared_ptr<TrainerClient>> trainers;
  // At most this many active runs on a trainer (by address), so a shared trainer keeps slots
  // for others; absent: as many as the trainer itself accepts.
  std::map<std::string, int> trainer_capacity;
  // Submissions that would make more runs wait in the queue are ResourceExhausted.
  int max_queued_runs = 10000;
  // Timestamps and every timer (dispatch backoff, polling, hang and trainer-lost detection,
  // progress persistence). Null: the system clock. Not owned.
  const common::Clock* clock = nullptr;
  // When every trainer refuses a run (full or down), wait this long before the next try,
  // doubling up to the maximum; a run ending on a trainer retries at once.
  absl::Duration dispatch_backoff = absl::Milliseconds(200);
  absl::Duration max_dispatch_backoff = absl::Seconds(10);
  // After a watch stream breaks: how often to poll GetRun before watching again.
  absl::Duration poll_interval = absl::Seconds(2);
  // Where running runs' collapse events come from (StopOnCollapsePolicy). Null: experiments
  // with stop_on_collapse enabled are refused (FailedPrecondition).
  std::shared_ptr<MetricsClient> metrics;
  // Progress-only changes are persisted at most this often per experiment (state changes
  // always are).
  absl::Duration progress_persist_interval = absl::Seconds(5);
  // Retries. A run is started again (up to max_attempts starts in all) when its trainer
  // restarted under it (the trainer reports it retryable), no longer knows it, stays
  // unreachable for trainer_lost_timeout, or when the run makes no progress (no new step or
  // state) for hang_timeout (then it is cancelled on its trainer first; zero: never). The retry
  // goes to the trainer that holds its checkpoints first, resuming there; elsewhere it starts
  // afresh.
  int max_attempts = 3;
  absl::Duration trainer_lost_timeout = absl::Minutes(2);
  absl::Duration hang_timeout = absl::Minutes(15);
};

// A consistent copy of one experiment. `version` increases with every change; `finished` is
// true once the experiment is in a terminal state and every run has ended.
struct ExperimentSnapshot {
  v1::Experiment experiment;
  int64_t version = 0;
  bool finished = false;
};

struct SweepResult {
  std::string sweep_id;
  std::vector<v1::Experiment> experiments;
};

// Composes the scheduler's parts around one mutex: the ExperimentRegistry (records), the
// Dispatcher (queue, trainer choice through the TrainerPool), RunFollowers (one watcher thread
// per running run, hang detection), the CollapseStopper (stop_on_collapse) and RunEvents
// (applying trainer news, retries). Owns them and their threads. Thread-safe.
class Scheduler : private RunEvents::Listener {
 public:
  // Opens the store under options.data_dir and reloads it: QUEUED runs go back in the queue,
  // runs that were on a trainer are watched again. InvalidArgument for bad options,
  // Unavailable if the store cannot be opened.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(const SchedulerOptions& options);
  ~Scheduler() override;  // Shutdown()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Validates and queues one run per seed. InvalidArgument names the bad field or config key;
  // ResourceExhausted if the queue is full; FailedPrecondition if stop_on_collapse is enabled
  // but options.metrics is null. Nothing is stored unless everything is valid.
  absl::StatusOr<v1::Experiment> SubmitExperiment(const v1::SubmitExperimentRequest& request);

  // One experiment "<sweep>.<variant>" per variant, all validated before any is stored.
  absl::StatusOr<SweepResult> SubmitSweep(const v1::SubmitSweepRequest& request);

  // NotFound for an unknown id.
  absl::StatusOr<v1::Experiment> GetExperiment(const std::string& id) const;

  // Experiments in submission order, filtered by state (empty: any) and sweep id (empty: any).
  std::vector<v1::Experiment> ListExperiments(const std::vector<ExperimentState>& states,
                                              const std::string& sweep_id) const;

  // Queued runs end CANCELLED at once; running runs get CancelRun on their trainer and the
  // watcher records their final state. NotFound: unknown id. FailedPrecondition: finished.
  absl::StatusOr<v1::Experiment> CancelExperiment(const std::string& id);

  // NotFound for an unknown id.
  absl::StatusOr<ExperimentSnapshot> GetSnapshot(const std::string& id) const;

  // Waits until the experiment's version exceeds `after_version` or `deadline` passes, then
  // returns the snapshot (unchanged on timeout). `deadline` is the caller's (an RPC deadline),
  // in real time. NotFound: unknown id. Unavailable: shutting down.
  absl::StatusOr<ExperimentSnapshot> WaitForChange(const std::string& id, int64_t after_version,
                                                   absl::Time deadline) const;

  // Stops dispatching and following runs and joins every thread. Runs keep going on their
  // trainers; the next Create() re-attaches to them. Idempotent.
  void Shutdown();

 private:
  Scheduler(const SchedulerOptions& options, std::unique_ptr<ExperimentStore> store);

  // Re-queues or re-attaches the runs of stored experiments (Create).
  void ReloadLocked(std::vector<v1::Experiment> stored) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queue-full check, then stores and queues new experiments (all or none).
  absl::Status CheckRoomLocked(size_t new_runs) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AdmitLocked(const std::vector<v1::Experiment>& experiments)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // RunEvents::Listener
  void OnRunEndedOnTrainerLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnRetryLocked(const std::string& run_id) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SchedulerOptions options_;
  const common::SystemClock system_clock_;
  const common::Clock* const clock_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  ExperimentRegistry registry_ ABSL_GUARDED_BY(mu_);
  TrainerPool pool_ ABSL_GUARDED_BY(mu_);
  RunEvents events_;
  std::unique_ptr<CollapseStopper> collapse_;  // null without options.metrics
  RunFollowers followers_;
  Dispatcher dispatcher_;
  absl::Mutex shutdown_mu_;  // serialises Shutdown()
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULER_H_
