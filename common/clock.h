// Injectable clock: timestamps and timed waits (tests use FakeClock from //common/testing).
#ifndef JEPALAB_COMMON_CLOCK_H_
#define JEPALAB_COMMON_CLOCK_H_

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace jepalab::common {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnixMillis() const = 0;
  // The same instant as NowUnixMillis(), as an absl::Time.
  virtual absl::Time Now() const { return absl::FromUnixMillis(NowUnixMillis()); }

  // Called with *mu held, like absl::Mutex::AwaitWithDeadline but with `deadline` read on this
  // clock: releases *mu until `condition` holds (returns true) or this clock reaches
  // `deadline` (returns false, or true if the condition holds by then); holds *mu again on
  // return. InfiniteFuture: no time limit. Timer loops wait here so a fake clock drives them.
  virtual bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& condition,
                                 absl::Time deadline) const;
  bool AwaitWithTimeout(absl::Mutex* mu, const absl::Condition& condition,
                        absl::Duration timeout) const {
    return AwaitWithDeadline(mu, condition, Now() + timeout);
  }
};

// Real time. Thread-safe.
class SystemClock : public Clock {
 public:
  int64_t NowUnixMillis() const override;
  absl::Time Now() const override;
};

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_CLOCK_H_
