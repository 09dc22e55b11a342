// Following runs: one watcher thread per running run streams its events from its trainer
// (polling GetRun when the stream breaks) and retries it when its trainer lost it; a hang
// monitor thread retries runs without progress for hang_timeout. All timers use the injected
// clock.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_RUN_FOLLOWER_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_RUN_FOLLOWER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "scheduler_service/core/cancel_token.h"
#include "scheduler_service/core/collapse_stopper.h"
#include "scheduler_service/core/experiment_registry.h"
#include "scheduler_service/core/run_events.h"
#include "scheduler_service/core/run_progress.h"
#include "scheduler_service/core/trainer_client.h"

namespace jepalab::scheduler {

struct RunFollowerOptions {
  // After a watch stream breaks: how often to poll GetRun before watching again.
  absl::Duration poll_interval = absl::Seconds(2);
  // A trainer unreachable this long lost the run: it is retried.
  absl::Duration trainer_lost_timeout = absl::Minutes(2);
  // A run without a new step or state this long is cancelled and retried; zero: never.
  absl::Duration hang_timeout = absl::Minutes(15);
};

// Owns the watcher threads (one per followed run, plus its collapse follower when the run's
// experiment has stop_on_collapse) and the hang monitor thread. Thread-safe through the
// Scheduler's mutex `mu` (the *Locked methods need it held). `collapse` may be null (no
// metrics_service); the other pointers are not owned and must outlive it.
class RunFollowers {
 public:
  RunFollowers(absl::Mutex* mu, const common::Clock* clock, ExperimentRegistry* registry,
               RunEvents* events, CollapseStopper* collapse, const RunFollowerOptions& options);
  ~RunFollowers();  // Join()

  // Starts the hang monitor (nothing if hang_timeout is zero).
  void StartHangMonitor();
  // Follows the run's current attempt on `trainer`; nothing if it is followed already or
  // after StopLocked.
  void StartLocked(const std::string& run_id, std::shared_ptr<TrainerClient> trainer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The run's watcher is done (its run was queued again): cancels it and hands it to
  // JoinFinished, so the next attempt gets its own.
  void RetireLocked(const std::string& run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Watchers whose thread has ended or is ending; JoinFinished (without mu) joins them.
  bool HasFinishedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !finished_.empty(); }
  void JoinFinished() ABSL_LOCKS_EXCLUDED(mu_);

  // Shutdown, in three steps: StopLocked (no new watchers; every watcher is set aside),
  // CancelAll (ends their watches; the runs go on on their trainers), then Join.
  void StopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelAll() ABSL_LOCKS_EXCLUDED(mu_);
  void Join() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Watcher {
    explicit Watcher(absl::Time now) : progress(now) {}
    CancelToken cancel;
    std::thread thread;
    RunProgress progress;  // guarded by mu_
    // Set by the hang monitor, which then cancels the watch; FollowRun retries the run.
    bool hung = false;  // guarded by mu_
    // The run's collapse-event follower (stop_on_collapse only); cancelled when the run ends.
    CancelToken collapse_cancel;
    std::thread collapse_thread;
  };

  // One attempt of one run, on its watcher's thread.
  void FollowRun(const std::string& run_id, std::shared_ptr<TrainerClient> trainer,
                 Watcher* watcher) ABSL_LOCKS_EXCLUDED(mu_);
  // Every hang_timeout/4 (10 ms to 1 s): cancels the watch of runs without progress.
  void HangMonitorLoop() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex* const mu_;
  const common::Clock* const clock_;
  ExperimentRegistry* const registry_ ABSL_PT_GUARDED_BY(mu_);
  RunEvents* const events_;
  CollapseStopper* const collapse_;
  const RunFollowerOptions options_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Watcher>> finished_ ABSL_GUARDED_BY(mu_);  // to join
  std::vector<std::shared_ptr<Watcher>> stopped_ ABSL_GUARDED_BY(mu_);   // set aside on stop
  std::thread hang_monitor_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_RUN_FOLLOWER_H_
