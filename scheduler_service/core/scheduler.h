// The scheduler core: validates and queues experiments and sweeps, dispatches their runs to
// trainers, follows each running run and keeps every record durable across restarts.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULER_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "proto/scheduler.pb.h"
#include "scheduler_service/core/experiment_store.h"
#include "scheduler_service/core/metrics_client.h"
#include "scheduler_service/core/run_queue.h"
#include "scheduler_service/core/trainer_client.h"

namespace jepalab::scheduler {

using ::jepalab::scheduler::v1::ExperimentState;
using ::jepalab::scheduler::v1::RunRecord;

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
  // Timestamps (created/finished). Null: the system clock. Not owned.
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

// Owns its dispatcher thread, one watcher thread per running run and, for a running run whose
// experiment has stop_on_collapse enabled, one thread following its collapse events. Thread-safe.
class Scheduler {
 public:
  // Opens the store under options.data_dir and reloads it: QUEUED runs go back in the queue,
  // runs that were on a trainer are watched again. InvalidArgument for bad options,
  // Unavailable if the store cannot be opened.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(const SchedulerOptions& options);
  ~Scheduler();  // Shutdown()
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
  // returns the snapshot (unchanged on timeout). NotFound: unknown id. Unavailable: shutting
  // down.
  absl::StatusOr<ExperimentSnapshot> WaitForChange(const std::string& id, int64_t after_version,
                                                   absl::Time deadline) const;

  // Stops dispatching and following runs and joins every thread. Runs keep going on their
  // trainers; the next Create() re-attaches to them. Idempotent.
  void Shutdown();

 private:
  struct Entry {
    v1::Experiment experiment;
    int64_t version = 0;
    absl::Time last_persist = absl::InfinitePast();
  };
  struct RunRef {
    std::string experiment_id;
    int index = 0;
  };
  struct Watcher {
    CancelToken cancel;
    std::thread thread;
    // When the run last made progress (a new step or state); the hang monitor cancels the
    // watch and sets `hung` once that is hang_timeout ago.
    absl::Time last_progress = absl::Now();
    int64_t last_step = -1;
    ::jepalab::common::v1::RunState last_state = ::jepalab::common::v1::RUN_STATE_UNSPECIFIED;
    bool hung = false;
    // The run's collapse-event follower (stop_on_collapse only); cancelled when the run ends.
    CancelToken collapse_cancel;
    std::thread collapse_thread;
  };
  // A fully validated submission, ready to be named and stored.
  struct Plan {
    std::string name;
    std::vector<std::string> overrides;
    std::vector<int64_t> seeds;
    std::string resolved_config_yaml;
    std::string config_hash;
  };

  explicit Scheduler(const SchedulerOptions& options, std::unique_ptr<ExperimentStore> store);

  // Validation shared by experiments and sweep variants; stores nothing.
  absl::StatusOr<Plan> PlanExperiment(const std::string& name, const std::string& config_yaml,
                                      const std::string& config_path,
                                      const std::vector<std::string>& overrides,
                                      const std::vector<int64_t>& requested_seeds) const;
  v1::Experiment BuildExperiment(const Plan& plan, int64_t sequence, const std::string& config_yaml,
                                 const std::vector<std::string>& tags, const std::string& sweep_id,
                                 int64_t now_ms) const;
  // Stores and queues new experiments (all or none).
  absl::Status AdmitLocked(const std::vector<v1::Experiment>& experiments)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void DispatchLoop();
  // Hands `run_id` to a trainer; called on the dispatcher thread without mu_.
  void DispatchOne(const std::string& run_id);
  void StartWatcherLocked(const std::string& run_id, std::shared_ptr<TrainerClient> trainer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FollowRun(const std::string& run_id, std::shared_ptr<TrainerClient> trainer,
                 Watcher* watcher);
  // Follows the run's collapse events until `policy` confirms a collapse (then StopOnCollapse)
  // or watcher->collapse_cancel fires.
  void WatchCollapse(const std::string& run_id, const v1::StopOnCollapsePolicy& policy,
                     Watcher* watcher);
  // Records the collapse stop on the run (once) and asks its trainer to cancel it.
  void StopOnCollapse(const std::string& run_id, int64_t step, const std::string& indicator);
  absl::Status ValidateStopOnCollapse(const v1::StopOnCollapsePolicy& policy) const;
  // Both ignore news of an earlier attempt (`attempt` is the run's attempts when it was
  // dispatched).
  void ApplyEvent(const std::string& run_id, int32_t attempt, const TrainerClient::RunEvent& event);
  void ApplyRun(const std::string& run_id, int32_t attempt, const TrainerClient::Run& run);
  void FailRun(const std::string& run_id, const std::string& message);
  // Queues the run for another start (resuming on its trainer) or, after max_attempts starts,
  // ends it FAILED; `reason` is recorded either way.
  void RetryRun(const std::string& run_id, int32_t attempt, const std::string& reason);
  void RetryRunLocked(Entry& entry, RunRecord* run, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records that the run moved (new step or state) as seen by its watcher.
  void NoteProgressLocked(const std::string& run_id, const TrainerClient::RunEvent& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Every few seconds: cancels the watch of runs without progress for hang_timeout.
  void HangMonitorLoop();

  RunRecord* FindRunLocked(const std::string& run_id, Entry** entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunEndedLocked(const RunRecord& run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Recomputes the experiment state, bumps the version, persists when `persist` or the state
  // changed (or progress is due).
  void CommitLocked(Entry& entry, bool persist) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues one of the experiment's runs by its priority and fair-share group; `front`: first
  // of its group (a refused or retried run keeps its place).
  void EnqueueLocked(const std::string& run_id, bool front) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs waiting for a trainer, the one being offered right now included.
  size_t QueuedRunsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<TrainerClient> TrainerFor(const std::string& address) const;
  // Trainers that hold as many active runs as options.trainer_capacity allows them.
  std::set<std::string> TrainersAtCapacity() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<::jepalab::config::v1::TrainerConfig> RunConfig(const v1::Experiment& experiment,
                                                                 int64_t seed) const;
  int64_t NowMs() const;

  const SchedulerOptions options_;
  const common::SystemClock system_clock_;
  const common::Clock* clock_;
  const std::unique_ptr<ExperimentStore> store_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Entry> experiments_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);  // experiment ids, submission order
  std::map<std::string, RunRef> runs_ ABSL_GUARDED_BY(mu_);
  RunQueue queue_ ABSL_GUARDED_BY(mu_);  // run ids waiting for a trainer
  bool dispatching_ ABSL_GUARDED_BY(mu_) = false;       // a run popped from queue_ is being offered
  bool dispatch_now_ ABSL_GUARDED_BY(mu_) = false;      // skip the backoff wait
  absl::Time next_dispatch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  size_t next_trainer_ ABSL_GUARDED_BY(mu_) = 0;  // round-robin position
  std::map<std::string, std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Watcher>> finished_watchers_ ABSL_GUARDED_BY(mu_);  // to join
  std::thread dispatcher_;
  std::thread hang_monitor_;
  absl::Mutex shutdown_mu_;  // serialises Shutdown()
};

// "stopped: collapsed (<indicator>) at step <step>": RunRecord.message of a run stopped on a
// confirmed collapse.
std::string CollapseStopMessage(const v1::CollapseStop& stop);

// A submission's priority: InvalidArgument naming "priority" outside [-1000, 1000].
absl::Status ValidatePriority(int priority);

// True for SUCCEEDED, EARLY_STOPPED, DIVERGED, FAILED and CANCELLED.
bool IsTerminalRunState(::jepalab::common::v1::RunState state);
bool IsTerminalExperimentState(ExperimentState state);

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULER_H_
