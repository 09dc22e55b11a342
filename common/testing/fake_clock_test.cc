#include "common/testing/fake_clock.h"

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace jepalab::testing {
namespace {

constexpr absl::Duration kRealTimeout = absl::Seconds(20);

TEST(FakeClockTest, TellsTheTimeItIsSetTo) {
  FakeClock clock(/*start_ms=*/1000);
  EXPECT_EQ(clock.NowUnixMillis(), 1000);
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(1000));
  clock.AdvanceMillis(500);
  EXPECT_EQ(clock.NowUnixMillis(), 1500);
  clock.SetMillis(10);
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(10));
}

TEST(FakeClockTest, AWaitEndsExactlyWhenTheClockReachesItsDeadline) {
  FakeClock clock(/*start_ms=*/0);
  absl::Mutex mu;
  bool woke = false;
  bool result = true;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    auto never = [] { return false; };
    result = clock.AwaitWithTimeout(&mu, absl::Condition(&never), absl::Seconds(10));
    woke = true;
  });
  ASSERT_TRUE(clock.BlockUntilWaiters(1, kRealTimeout));
  clock.Advance(absl::Seconds(10) - absl::Milliseconds(1));
  // Still sleeping: its deadline is 1 ms away.
  ASSERT_TRUE(clock.BlockUntilWaiters(1, kRealTimeout));
  {
    absl::MutexLock lock(&mu);
    EXPECT_FALSE(woke);
  }
  clock.AdvanceMillis(1);
  waiter.join();
  EXPECT_TRUE(woke);
  EXPECT_FALSE(result);
}

TEST(FakeClockTest, AWaitEndsWhenItsConditionHoldsWithoutTimeMoving) {
  FakeClock clock;
  absl::Mutex mu;
  bool ready = false;
  bool result = false;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.AwaitWithDeadline(&mu, absl::Condition(&ready), absl::InfiniteFuture());
  });
  {
    absl::MutexLock lock(&mu);
    ready = true;
  }
  waiter.join();
  EXPECT_TRUE(result);
  EXPECT_FALSE(clock.BlockUntilWaiters(1, absl::ZeroDuration()));
}

TEST(FakeClockTest, APastDeadlineReturnsAtOnce) {
  FakeClock clock;
  absl::Mutex mu;
  absl::MutexLock lock(&mu);
  auto never = [] { return false; };
  EXPECT_FALSE(clock.AwaitWithDeadline(&mu, absl::Condition(&never), clock.Now()));
}

}  // namespace
}  // namespace jepalab::testing
