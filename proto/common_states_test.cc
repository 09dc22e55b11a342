#include "proto/common_states.h"

#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

TEST(IsTerminalTest, RunStatesThatEndARun) {
  for (v1::RunState state :
       {v1::RUN_STATE_SUCCEEDED, v1::RUN_STATE_EARLY_STOPPED, v1::RUN_STATE_DIVERGED,
        v1::RUN_STATE_FAILED, v1::RUN_STATE_CANCELLED}) {
    EXPECT_TRUE(IsTerminal(state)) << v1::RunState_Name(state);
  }
  for (v1::RunState state :
       {v1::RUN_STATE_UNSPECIFIED, v1::RUN_STATE_QUEUED, v1::RUN_STATE_RUNNING}) {
    EXPECT_FALSE(IsTerminal(state)) << v1::RunState_Name(state);
  }
}

TEST(IsTerminalTest, CoversEveryRunState) {
  int terminal = 0;
  for (int value = v1::RunState_MIN; value <= v1::RunState_MAX; ++value) {
    if (v1::RunState_IsValid(value) && IsTerminal(static_cast<v1::RunState>(value))) ++terminal;
  }
  EXPECT_EQ(terminal, 5) << "a new RunState needs a decision in IsTerminal";
}

}  // namespace
}  // namespace jepalab::common
