#include "common/clock.h"

#include <chrono>

#include "absl/time/clock.h"

namespace jepalab::common {

bool Clock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& condition,
                              absl::Time deadline) const {
  // A clock that only tells the time: turn its deadline into a real one.
  if (deadline == absl::InfiniteFuture()) {
    mu->Await(condition);
    return true;
  }
  return mu->AwaitWithDeadline(condition, absl::Now() + (deadline - Now()));
}

int64_t SystemClock::NowUnixMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Time SystemClock::Now() const { return absl::Now(); }

}  // namespace jepalab::common
