// Dispatch: one thread takes runs from the queue by priority and fair share and offers each to
// the trainers in the pool's order until one takes it; when all refuse it keeps its place and
// dispatch backs off (on the injected clock).
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_DISPATCHER_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_DISPATCHER_H_

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "scheduler_service/core/experiment_registry.h"
#include "scheduler_service/core/run_events.h"
#include "scheduler_service/core/run_follower.h"
#include "scheduler_service/core/run_queue.h"
#include "scheduler_service/core/trainer_pool.h"

namespace jepalab::scheduler {

// Owns the queue and the dispatcher thread, which also joins finished watcher threads.
// Thread-safe through the Scheduler's mutex `mu` (the *Locked methods need it held). Does not
// own its arguments.
class Dispatcher {
 public:
  Dispatcher(absl::Mutex* mu, const common::Clock* clock, ExperimentRegistry* registry,
             TrainerPool* pool, RunEvents* events, RunFollowers* followers);
  ~Dispatcher();  // Join()

  void Start();
  // Ends the loop; then Join() waits for the thread.
  void StopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { stopping_ = true; }
  void Join();

  // Queues one of the registry's runs by its experiment's priority and fair-share group;
  // `front`: first of its group (a refused or retried run keeps its place).
  void EnqueueLocked(const std::string& run_id, bool front) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveLocked(const std::string& run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queue_.Remove(run_id);
  }
  // Offer the next run without waiting out the backoff (a new or retried run may jump ahead).
  void DispatchNowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { dispatch_now_ = true; }
  // A trainer slot freed up: dispatch at once, with the backoff reset.
  void SlotFreedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasQueuedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty(); }
  // Runs waiting for a trainer, the one being offered right now included.
  size_t QueuedRunsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() + (dispatching_ ? 1 : 0);
  }

 private:
  void Loop();
  // Hands `run_id` to a trainer; runs without mu_.
  void DispatchOne(const std::string& run_id) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex* const mu_;
  const common::Clock* const clock_;
  ExperimentRegistry* const registry_ ABSL_PT_GUARDED_BY(mu_);
  TrainerPool* const pool_ ABSL_PT_GUARDED_BY(mu_);
  RunEvents* const events_;
  RunFollowers* const followers_;
  RunQueue queue_ ABSL_GUARDED_BY(mu_);  // run ids waiting for a trainer
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool dispatching_ ABSL_GUARDED_BY(mu_) = false;   // a run popped from queue_ is being offered
  bool dispatch_now_ ABSL_GUARDED_BY(mu_) = false;  // skip the backoff wait
  absl::Time next_dispatch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_DISPATCHER_H_
