// A manually advanced Clock for deterministic tests of timestamps and run retention.
#ifndef JEPALAB_COMMON_TESTING_FAKE_CLOCK_H_
#define JEPALAB_COMMON_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace jepalab::testing {

// Starts at `start_ms` and moves only when told. Thread-safe.
class FakeClock : public common::Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}

  int64_t NowUnixMillis() const override { return now_ms_.load(); }
  void AdvanceMillis(int64_t ms) { now_ms_ += ms; }
  void SetMillis(int64_t ms) { now_ms_ = ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace jepalab::testing

#endif  // JEPALAB_COMMON_TESTING_FAKE_CLOCK_H_
