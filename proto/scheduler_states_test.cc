#include "proto/scheduler_states.h"

#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

TEST(IsTerminalTest, ExperimentStates) {
  EXPECT_FALSE(IsTerminal(v1::EXPERIMENT_STATE_UNSPECIFIED));
  EXPECT_FALSE(IsTerminal(v1::EXPERIMENT_STATE_QUEUED));
  EXPECT_FALSE(IsTerminal(v1::EXPERIMENT_STATE_RUNNING));
  EXPECT_TRUE(IsTerminal(v1::EXPERIMENT_STATE_SUCCEEDED));
  EXPECT_TRUE(IsTerminal(v1::EXPERIMENT_STATE_FAILED));
  EXPECT_TRUE(IsTerminal(v1::EXPERIMENT_STATE_CANCELLED));
  EXPECT_EQ(v1::ExperimentState_MAX, v1::EXPERIMENT_STATE_CANCELLED)
      << "a new ExperimentState needs a decision in IsTerminal";
}

TEST(IsTerminalTest, PlanStates) {
  EXPECT_FALSE(IsTerminal(v1::PLAN_STATE_UNSPECIFIED));
  EXPECT_FALSE(IsTerminal(v1::PLAN_STATE_RUNNING));
  EXPECT_TRUE(IsTerminal(v1::PLAN_STATE_SUCCEEDED));
  EXPECT_TRUE(IsTerminal(v1::PLAN_STATE_FAILED));
  EXPECT_TRUE(IsTerminal(v1::PLAN_STATE_CANCELLED));
  EXPECT_EQ(v1::PlanState_MAX, v1::PLAN_STATE_CANCELLED)
      << "a new PlanState needs a decision in IsTerminal";
}

}  // namespace
}  // namespace jepalab::scheduler
