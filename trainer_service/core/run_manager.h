// Runs, one supervised worker process each: starts trainer_worker with the run's spec, reads
// its event pipe, keeps every run's live state, turns crashes into FAILED runs and fans the
// events out to subscribers. Plain C++ (processes through a WorkerLauncher), no gRPC, no torch.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_RUN_MANAGER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_RUN_MANAGER_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "proto/trainer.pb.h"
#include "trainer_service/core/worker_launcher.h"

namespace jepalab::trainer {

using ::jepalab::trainer::v1::Run;
using ::jepalab::trainer::v1::RunEvent;
using ::jepalab::trainer::v1::StartRunRequest;

struct RunManagerOptions {
  std::string data_dir;             // runs live under <data_dir>/runs/<run_id>/
  std::string worker_binary;        // path of trainer_worker
  std::string metrics_address;      // passed to workers; empty: they report to no metrics_service
  std::string metrics_tls_ca_file;  // passed to workers: TLS to metrics_service; empty: none
  std::string metrics_auth_token_file;  // passed to workers: bearer token file; empty: none
  int max_concurrent_runs = 1;          // QUEUED + RUNNING runs at a time
  // Intra-op threads of a run whose config leaves training.num_threads at 0 (worker
  // --default_threads); 0: every core.
  int threads_per_run = 0;
  absl::Duration cancel_grace = absl::Seconds(10);  // SIGTERM -> SIGKILL
  // Timestamps and the cancel grace deadline. Not owned; null: the system clock.
  const common::Clock* clock = nullptr;
  // Starts, signals and reaps the workers. Not owned; null: real processes
  // (ProcessWorkerLauncher).
  WorkerLauncher* launcher = nullptr;
};

// A live feed of one run's events. Thread-compatible (one reader).
class RunSubscription {
 public:
  enum class Result { kEvent, kTimeout, kEnd };
  struct Queue;  // shared with the manager
  explicit RunSubscription(std::shared_ptr<Queue> queue) : queue_(std::move(queue)) {}
  ~RunSubscription();
  // The next event, kTimeout if none came within `timeout`, kEnd after the terminal state
  // event was delivered (or the manager shut down).
  Result Next(RunEvent* event, absl::Duration timeout);

 private:
  std::shared_ptr<Queue> queue_;
};

// Thread-safe. Owns the worker processes; the destructor shuts down (cancels running runs).
// Every run's record is kept in <data_dir>/runs/<run_id>/run.pb; Create() reloads them, and a
// run that was still active when the previous server died ends FAILED with Run.retryable.
class RunManager {
 public:
  // InvalidArgument if the worker binary is not executable or a value is out of range;
  // Unavailable if the data directory cannot be created.
  static absl::StatusOr<std::unique_ptr<RunManager>> Create(const RunManagerOptions& options);
  ~RunManager();
  RunManager(const RunManager&) = delete;
  RunManager& operator=(const RunManager&) = delete;

  // Validates (run_id, config), then spawns the worker; the run starts QUEUED and becomes
  // RUNNING when the worker reports. With request.resume, a run that ended FAILED or CANCELLED
  // here starts again in its folder (attempt + 1) from its latest checkpoint.
  // InvalidArgument (bad id or config, naming the field), AlreadyExists (run id taken; with
  // resume: still active or finished with a result), ResourceExhausted (max_concurrent_runs
  // busy), Unavailable (shutting down), Internal (spawn failed).
  absl::StatusOr<Run> StartRun(const StartRunRequest& request);
  // SIGTERM now, SIGKILL after cancel_grace; the run ends CANCELLED. NotFound, or
  // FailedPrecondition if it already finished. Returns the run as of now.
  absl::StatusOr<Run> CancelRun(const std::string& run_id);
  absl::StatusOr<Run> GetRun(const std::string& run_id) const;
  // Filtered by experiment (empty: all) and states (empty: all), ordered by creation.
  std::vector<Run> ListRuns(const std::string& experiment,
                            const std::vector<common::v1::RunState>& states) const;
  // First the current state (and progress, if any), then every later event; ends after the
  // terminal state. NotFound for an unknown run.
  absl::StatusOr<std::unique_ptr<RunSubscription>> Subscribe(const std::string& run_id,
                                                             bool include_metrics);
  // Waits until the run is in a terminal state; DeadlineExceeded after `timeout`.
  absl::StatusOr<Run> WaitForRun(const std::string& run_id, absl::Duration timeout) const;
  // Refuses new runs, cancels the running ones and waits until all are terminal. They end
  // CANCELLED with Run.retryable set: a restarted trainer resumes them when asked to.
  void Shutdown();

 private:
  struct RunRecord;
  explicit RunManager(const RunManagerOptions& options);

  // Writes the spec and starts the worker for the record's next attempt (QUEUED).
  absl::Status SpawnWorkerLocked(RunRecord* record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Supervise(RunRecord* record);
  void Watchdog(RunRecord* record);
  void ReloadRuns();
  void KillStaleWorker(const RunRecord& record) const;
  void PersistLocked(const RunRecord& record) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkInterrupted(RunRecord* record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleEvent(RunRecord* record, RunEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(RunRecord* record, RunEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishFromExit(RunRecord* record, int wait_status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SignalCancel(RunRecord* record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t NowMs() const { return clock_->NowUnixMillis(); }

  const RunManagerOptions options_;
  std::unique_ptr<common::Clock> own_clock_;
  const common::Clock* clock_;
  std::unique_ptr<WorkerLauncher> own_launcher_;
  WorkerLauncher* launcher_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<RunRecord>> runs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);  // run ids by creation
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_RUN_MANAGER_H_
