#include "cli/progress_format.h"

#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

TEST(ProgressFormatTest, Durations) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(75.4), "1:15");
  EXPECT_EQ(FormatDuration(3725), "1:02:05");
  EXPECT_EQ(FormatDuration(-1), "--:--");
}

TEST(ProgressFormatTest, RunLineShowsBarStepsEpochLossAndEta) {
  jepalab::scheduler::v1::RunRecord run;
  run.set_run_id("mini-0001-s123");
  run.set_state(common::v1::RUN_STATE_RUNNING);
  run.mutable_progress()->set_step(50);
  run.mutable_progress()->set_total_steps(100);
  run.mutable_progress()->set_epoch(2);
  run.mutable_progress()->set_total_epochs(3);
  run.mutable_progress()->set_eta_seconds(42);
  const std::string line = FormatRunLine(run, 10, /*loss=*/3.25);
  EXPECT_NE(line.find("RUNNING"), std::string::npos) << line;
  EXPECT_NE(line.find("[#####.....]"), std::string::npos) << line;
  EXPECT_NE(line.find("step 50/100"), std::string::npos) << line;
  EXPECT_NE(line.find("epoch 2/3"), std::string::npos) << line;
  EXPECT_NE(line.find("loss 3.2500"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:42"), std::string::npos) << line;
  EXPECT_EQ(FormatRunLine(run, 0).find('['), std::string::npos);
  // No loss known (metrics_service has none for the run yet, or is unreachable): no loss field.
  EXPECT_EQ(FormatRunLine(run, 0).find("loss"), std::string::npos);
}

TEST(ProgressFormatTest, StateNamesDropPrefixes) {
  EXPECT_EQ(RunStateName(common::v1::RUN_STATE_EARLY_STOPPED), "EARLY_STOPPED");
  EXPECT_EQ(ExperimentStateName(scheduler::v1::EXPERIMENT_STATE_SUCCEEDED), "SUCCEEDED");
}

}  // namespace
}  // namespace jepalab::cli
