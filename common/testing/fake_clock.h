// A manually advanced Clock for deterministic tests of timestamps and timer loops: a wait on
// it ends only when its condition holds or Advance/SetMillis reach its deadline.
#ifndef JEPALAB_COMMON_TESTING_FAKE_CLOCK_H_
#define JEPALAB_COMMON_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace jepalab::testing {

// Starts at `start_ms` and moves only when told. Thread-safe. Advance and SetMillis must not
// be called while holding a mutex that a thread waits on here, nor while another thread
// destroys an object that waits here.
class FakeClock : public common::Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000);

  int64_t NowUnixMillis() const override;
  absl::Time Now() const override;
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& condition,
                         absl::Time deadline) const override;

  // Move the time, then wake every waiter so that those whose deadline passed return.
  void Advance(absl::Duration duration);
  void AdvanceMillis(int64_t ms) { Advance(absl::Milliseconds(ms)); }
  void SetMillis(int64_t ms);

  // Waits (in real time, up to `timeout`) until at least `count` threads wait here for a
  // finite deadline after now: the timer loops have done what the last Advance made due and
  // sleep again. False on timeout.
  bool BlockUntilWaiters(int count, absl::Duration timeout) const;

 private:
  struct Waiter {
    absl::Mutex* mu;
    absl::Time deadline;
  };
  void WakeWaiters();
  // How many waiters sleep until a finite deadline after now.
  int SleepingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // now_ for waiters' conditions, which run under other mutexes and must not block.
  std::atomic<int64_t> now_ns_;
  mutable std::vector<const Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::testing

#endif  // JEPALAB_COMMON_TESTING_FAKE_CLOCK_H_
