#include "common/testing/fake_clock.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace jepalab::testing {

FakeClock::FakeClock(int64_t start_ms)
    : now_(absl::FromUnixMillis(start_ms)), now_ns_(absl::ToUnixNanos(now_)) {}

int64_t FakeClock::NowUnixMillis() const { return absl::ToUnixMillis(Now()); }

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

bool FakeClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& condition,
                                  absl::Time deadline) const {
  const Waiter waiter{mu, deadline};
  {
    absl::MutexLock lock(&mu_);
    waiters_.push_back(&waiter);
  }
  // *mu re-evaluates this whenever it is released; WakeWaiters releases it after a move.
  auto done = [&] { return condition.Eval() || absl::FromUnixNanos(now_ns_.load()) >= deadline; };
  mu->Await(absl::Condition(&done));
  {
    absl::MutexLock lock(&mu_);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
  }
  return condition.Eval();
}

void FakeClock::Advance(absl::Duration duration) {
  {
    absl::MutexLock lock(&mu_);
    now_ += duration;
    now_ns_ = absl::ToUnixNanos(now_);
  }
  WakeWaiters();
}

void FakeClock::SetMillis(int64_t ms) {
  {
    absl::MutexLock lock(&mu_);
    now_ = absl::FromUnixMillis(ms);
    now_ns_ = absl::ToUnixNanos(now_);
  }
  WakeWaiters();
}

void FakeClock::WakeWaiters() {
  std::vector<absl::Mutex*> mutexes;
  {
    absl::MutexLock lock(&mu_);
    for (const Waiter* waiter : waiters_) mutexes.push_back(waiter->mu);
  }
  std::sort(mutexes.begin(), mutexes.end());
  mutexes.erase(std::unique(mutexes.begin(), mutexes.end()), mutexes.end());
  // Releasing a mutex makes its waiters re-check their conditions, which read the new time.
  for (absl::Mutex* mu : mutexes) {
    mu->Lock();
    mu->Unlock();
  }
}

int FakeClock::SleepingLocked() const {
  int sleeping = 0;
  for (const Waiter* waiter : waiters_) {
    if (waiter->deadline != absl::InfiniteFuture() && waiter->deadline > now_) ++sleeping;
  }
  return sleeping;
}

bool FakeClock::BlockUntilWaiters(int count, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return SleepingLocked() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

}  // namespace jepalab::testing
