// CancelToken: lets one thread stop another's blocking call (a trainer's WatchRun, the metrics
// service's WatchCollapseEvents).
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_CANCEL_TOKEN_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_CANCEL_TOKEN_H_

#include <atomic>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace jepalab::scheduler {

// Lets one thread stop another's blocking watch. Thread-safe.
class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Idempotent. Runs the registered hook (once) while holding the token's lock.
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // Registers `hook` to run on Cancel(); runs it at once if already cancelled. The hook must
  // not call back into this token. One hook at a time.
  void SetOnCancel(std::function<void()> hook);
  // Removes the hook; after it returns the hook is not running and will not run.
  void ClearOnCancel();

 private:
  absl::Mutex mu_;
  std::atomic<bool> cancelled_{false};
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_CANCEL_TOKEN_H_
