// Injectable wall clock (tests use FakeClock from //common/testing).
#ifndef JEPALAB_COMMON_CLOCK_H_
#define JEPALAB_COMMON_CLOCK_H_

#include <cstdint>

namespace jepalab::common {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnixMillis() const = 0;
};

// Real time. Thread-safe.
class SystemClock : public Clock {
 public:
  int64_t NowUnixMillis() const override;
};

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_CLOCK_H_
