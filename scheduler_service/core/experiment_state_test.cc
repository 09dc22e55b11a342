#include "scheduler_service/core/experiment_state.h"

#include <vector>

#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::scheduler::v1::Experiment;

Experiment WithRuns(const std::vector<RunState>& states) {
  Experiment experiment;
  experiment.set_state(v1::EXPERIMENT_STATE_QUEUED);
  for (RunState state : states) experiment.add_runs()->set_state(state);
  return experiment;
}

TEST(ExperimentStateTest, QueuedUntilARunIsDispatchedThenRunning) {
  Experiment experiment = WithRuns({RunState::RUN_STATE_QUEUED, RunState::RUN_STATE_QUEUED});
  EXPECT_EQ(ComputeExperimentState(experiment), v1::EXPERIMENT_STATE_QUEUED);
  experiment.mutable_runs(1)->set_trainer("trainer-a:1");
  EXPECT_EQ(ComputeExperimentState(experiment), v1::EXPERIMENT_STATE_RUNNING);
  // A run queued again for a retry has been dispatched before.
  experiment.mutable_runs(1)->clear_trainer();
  experiment.mutable_runs(1)->set_attempts(1);
  EXPECT_EQ(ComputeExperimentState(experiment), v1::EXPERIMENT_STATE_RUNNING);
}

TEST(ExperimentStateTest, EndedRunsDecideTheOutcome) {
  EXPECT_EQ(ComputeExperimentState(
                WithRuns({RunState::RUN_STATE_SUCCEEDED, RunState::RUN_STATE_EARLY_STOPPED})),
            v1::EXPERIMENT_STATE_SUCCEEDED);
  EXPECT_EQ(ComputeExperimentState(
                WithRuns({RunState::RUN_STATE_SUCCEEDED, RunState::RUN_STATE_DIVERGED})),
            v1::EXPERIMENT_STATE_FAILED);
  EXPECT_EQ(ComputeExperimentState(
                WithRuns({RunState::RUN_STATE_SUCCEEDED, RunState::RUN_STATE_CANCELLED})),
            v1::EXPERIMENT_STATE_CANCELLED);
  // One run still going: not decided yet.
  EXPECT_EQ(
      ComputeExperimentState(WithRuns({RunState::RUN_STATE_FAILED, RunState::RUN_STATE_RUNNING})),
      v1::EXPERIMENT_STATE_RUNNING);
  EXPECT_EQ(ComputeExperimentState(WithRuns({})), v1::EXPERIMENT_STATE_QUEUED);
}

TEST(ExperimentStateTest, ACollapseStopCountsAsAFailureNotACancel) {
  Experiment experiment = WithRuns({RunState::RUN_STATE_CANCELLED});
  experiment.mutable_runs(0)->mutable_collapse_stop()->set_step(300);
  EXPECT_EQ(ComputeExperimentState(experiment), v1::EXPERIMENT_STATE_FAILED);
}

TEST(ExperimentStateTest, ATerminalExperimentKeepsItsState) {
  Experiment experiment = WithRuns({RunState::RUN_STATE_RUNNING});
  experiment.set_state(v1::EXPERIMENT_STATE_CANCELLED);
  EXPECT_EQ(ComputeExperimentState(experiment), v1::EXPERIMENT_STATE_CANCELLED);
  EXPECT_FALSE(IsExperimentFinished(experiment));  // its run has not ended yet
  experiment.mutable_runs(0)->set_state(RunState::RUN_STATE_CANCELLED);
  EXPECT_TRUE(IsExperimentFinished(experiment));
}

TEST(ExperimentStateTest, TheCollapseStopMessageWinsOverTheTrainersCancelMessage) {
  RunRecord run;
  run.set_state(RunState::RUN_STATE_CANCELLED);
  run.set_message("cancelled by request");
  KeepCollapseStopMessage(run);
  EXPECT_EQ(run.message(), "cancelled by request");  // no collapse stop
  run.mutable_collapse_stop()->set_indicator("codebook_usage");
  run.mutable_collapse_stop()->set_step(100);
  KeepCollapseStopMessage(run);
  EXPECT_EQ(run.message(), "stopped: collapsed (codebook_usage) at step 100");
  // A run that finished with its own result keeps the trainer's message.
  run.set_state(RunState::RUN_STATE_SUCCEEDED);
  run.set_message("done");
  KeepCollapseStopMessage(run);
  EXPECT_EQ(run.message(), "done");
}

}  // namespace
}  // namespace jepalab::scheduler
