#include "scheduler_service/core/run_progress.h"

#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;

TrainerClient::RunEvent Step(int64_t step) {
  TrainerClient::RunEvent event;
  event.mutable_progress()->set_step(step);
  return event;
}

TrainerClient::RunEvent State(RunState state) {
  TrainerClient::RunEvent event;
  event.mutable_state_change()->set_state(state);
  return event;
}

TEST(RunProgressTest, StallsOnlyOnceTheTimeoutPassesWithoutANewStepOrState) {
  const absl::Time start = absl::FromUnixSeconds(1000);
  const absl::Duration timeout = absl::Seconds(300);
  RunProgress progress(start);
  EXPECT_FALSE(progress.StalledFor(timeout, start + timeout - absl::Milliseconds(1)));
  EXPECT_TRUE(progress.StalledFor(timeout, start + timeout));

  EXPECT_TRUE(progress.Note(Step(1), start + absl::Seconds(200)));
  EXPECT_FALSE(progress.StalledFor(timeout, start + timeout));
  // A replayed step or state (after a reconnect) is not progress.
  EXPECT_FALSE(progress.Note(Step(1), start + absl::Seconds(400)));
  EXPECT_TRUE(progress.Note(State(RunState::RUN_STATE_RUNNING), start + absl::Seconds(450)));
  EXPECT_FALSE(progress.Note(State(RunState::RUN_STATE_RUNNING), start + absl::Seconds(460)));
  EXPECT_EQ(progress.last_progress(), start + absl::Seconds(450));
  EXPECT_TRUE(progress.StalledFor(timeout, start + absl::Seconds(750)));
  // Metrics alone are no progress.
  TrainerClient::RunEvent metrics;
  metrics.mutable_metrics();
  EXPECT_FALSE(progress.Note(metrics, start + absl::Seconds(800)));
}

}  // namespace
}  // namespace jepalab::scheduler
