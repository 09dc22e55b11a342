// Fault tests over the real binaries (issue #6): a service killed with SIGKILL in the middle of
// the work, restarted on its port and data dir, and a worker that hangs. Each test checks that
// nothing is lost, nothing runs twice, and the work ends where an undisturbed run would.
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service_stack.h"

namespace jepalab {
namespace {

using ::jepalab::testing::ExperimentFinished;
using ::jepalab::testing::ReadTextFile;
using ::jepalab::testing::ServiceStack;
using ::jepalab::testing::ServiceStackOptions;
using ::testing::HasSubstr;
namespace sched = ::jepalab::scheduler::v1;

constexpr char kMiniConfig[] = "configs/training/jepa_pretrain_a6000_mini.yaml";
constexpr absl::Duration kRunTimeout = absl::Minutes(3);

// 360 training tasks in batches of 32 (11 steps an epoch), a checkpoint after every epoch.
std::vector<std::string> TinyRun(int epochs, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {"data.generator.num_atomic=240",
                                        "data.generator.num_sequential=160",
                                        "training.batch_size=32",
                                        absl::StrCat("training.epochs=", epochs),
                                        "data.validation.split=0.1",
                                        "training.num_threads=1",
                                        "training.early_stopping.enabled=false"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return overrides;
}

bool RunReached(const sched::Experiment& e, int epoch) {
  return e.runs(0).state() == common::v1::RUN_STATE_RUNNING &&
         e.runs(0).progress().epoch() >= epoch;
}

// Every step 1..last exactly once.
void ExpectEveryStepOnce(const std::vector<metrics::v1::SeriesPoint>& points, int64_t last) {
  ASSERT_EQ(static_cast<int64_t>(points.size()), last);
  for (int64_t i = 0; i < last; ++i) EXPECT_EQ(points[i].step(), i + 1) << "at index " << i;
}

TEST(FaultTest, TrainerKilledMidRunIsResumedFromItsCheckpointWithAContinuousHistory) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServiceStack> stack, ServiceStack::Start({}));
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Experiment submitted,
                               stack->Submit("resume", kMiniConfig, TinyRun(6)));
  const std::string run_id = submitted.runs(0).run_id();
  JEPALAB_ASSERT_OK(
      stack
          ->WaitForExperiment(
              submitted.id(), [](const auto& e) { return RunReached(e, 3); }, kRunTimeout)
          .status());

  JEPALAB_ASSERT_OK(stack->KillAndRestartTrainer(absl::Seconds(1)));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      sched::Experiment done,
      stack->WaitForExperiment(submitted.id(), ExperimentFinished, kRunTimeout));
  ASSERT_EQ(done.state(), sched::EXPERIMENT_STATE_SUCCEEDED) << done.DebugString();
  const sched::RunRecord& run = done.runs(0);
  EXPECT_EQ(run.attempts(), 2);
  ASSERT_EQ(run.retry_reasons_size(), 1);
  EXPECT_THAT(run.retry_reasons(0),
              HasSubstr("interrupted: trainer_server stopped while the run was"));

  // The trainer continued the run from an epoch checkpoint, not from scratch.
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<trainer::v1::Run> runs, stack->TrainerRuns());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].attempt(), 2);
  EXPECT_GE(runs[0].resumed_from_step(), 22);  // epoch 2's checkpoint at least
  EXPECT_EQ(runs[0].resumed_from_step() % 11, 0);
  EXPECT_THAT(ReadTextFile(stack->root() + "/trainer/runs/" + run_id + "/worker.log"),
              HasSubstr("resumed from"));

  // One loss point per step, no gap and no duplicate around the resume point.
  const int64_t steps = run.progress().step();
  EXPECT_EQ(steps, 66);
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto loss, stack->History(run_id, "loss/total"));
  ExpectEveryStepOnce(loss, steps);
}

TEST(FaultTest, MetricsKilledWhileATrainerStreamsLosesNoPoint) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServiceStack> stack, ServiceStack::Start({}));
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Experiment submitted,
                               stack->Submit("stream", kMiniConfig, TinyRun(4)));
  const std::string run_id = submitted.runs(0).run_id();
  JEPALAB_ASSERT_OK(
      stack
          ->WaitForExperiment(
              submitted.id(), [](const auto& e) { return RunReached(e, 2); }, kRunTimeout)
          .status());

  JEPALAB_ASSERT_OK(stack->KillAndRestartMetrics(absl::Seconds(2)));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      sched::Experiment done,
      stack->WaitForExperiment(submitted.id(), ExperimentFinished, kRunTimeout));
  ASSERT_EQ(done.state(), sched::EXPERIMENT_STATE_SUCCEEDED) << done.DebugString();
  EXPECT_EQ(done.runs(0).attempts(), 1);  // the trainer never noticed
  const int64_t steps = done.runs(0).progress().step();
  EXPECT_EQ(steps, 44);
  // The worker buffered what metrics_service could not take and re-sent it after the restart.
  absl::StatusOr<std::vector<metrics::v1::SeriesPoint>> loss = stack->History(run_id, "loss/total");
  const absl::Time deadline = absl::Now() + absl::Seconds(30);  // the worker's final flush
  while ((!loss.ok() || static_cast<int64_t>(loss->size()) < steps) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    loss = stack->History(run_id, "loss/total");
  }
  JEPALAB_ASSERT_OK(loss.status());
  ExpectEveryStepOnce(*loss, steps);
  if (::testing::Test::HasFailure()) {
    std::cerr << "worker log:\n"
              << ReadTextFile(stack->root() + "/trainer/runs/" + run_id + "/worker.log");
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto epochs, stack->History(run_id, "epoch"));
  EXPECT_EQ(epochs.size(), 4u);
}

TEST(FaultTest, SchedulerKilledWithWorkInEveryStateLosesNothingAndRunsNothingTwice) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServiceStack> stack, ServiceStack::Start({}));
  // One trainer slot: "first" runs, the plan's first stage and "last" wait behind it.
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Experiment first,
                               stack->Submit("first", kMiniConfig, TinyRun(1)));
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Plan plan,
                               stack->SubmitPlan("tests/testdata/micro_plan.yaml"));
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Experiment last,
                               stack->Submit("last", kMiniConfig, TinyRun(1)));
  // Kill once "first" is finished and the plan's stage-1 run is on the trainer.
  JEPALAB_ASSERT_OK(stack->WaitForExperiment(first.id(), ExperimentFinished, kRunTimeout).status());
  const absl::Time deadline = absl::Now() + kRunTimeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<sched::Plan> now = stack->GetPlan(plan.id());
    ASSERT_TRUE(now.ok()) << now.status();
    if (now->runs_size() > 0 && now->runs(0).run_ids_size() > 0) {
      absl::StatusOr<std::vector<trainer::v1::Run>> runs = stack->TrainerRuns();
      bool plan_run_started = false;
      for (const auto& run : *runs) plan_run_started |= run.run_id() == now->runs(0).run_ids(0);
      if (plan_run_started) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Experiment last_before, stack->GetExperiment(last.id()));
  EXPECT_EQ(last_before.state(), sched::EXPERIMENT_STATE_QUEUED);

  JEPALAB_ASSERT_OK(stack->KillAndRestartScheduler());
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Plan finished,
                               stack->WaitForPlanToFinish(plan.id(), kRunTimeout));
  EXPECT_EQ(finished.state(), sched::PLAN_STATE_SUCCEEDED) << finished.message();
  EXPECT_EQ(finished.stages_taken_size(), 2);  // the branch after stage 1 was taken
  EXPECT_FALSE(finished.conclusion().empty());
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      sched::Experiment last_done,
      stack->WaitForExperiment(last.id(), ExperimentFinished, kRunTimeout));
  EXPECT_EQ(last_done.state(), sched::EXPERIMENT_STATE_SUCCEEDED);
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Experiment first_after, stack->GetExperiment(first.id()));
  EXPECT_EQ(first_after.state(), sched::EXPERIMENT_STATE_SUCCEEDED);

  // Four runs in all (first, two plan runs, last), each started exactly once on the trainer.
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<trainer::v1::Run> runs, stack->TrainerRuns());
  std::set<std::string> ids;
  for (const auto& run : runs) {
    ids.insert(run.run_id());
    EXPECT_EQ(run.attempt(), 1) << run.run_id();
    EXPECT_EQ(run.state(), common::v1::RUN_STATE_SUCCEEDED)
        << run.run_id() << ": " << run.message();
  }
  EXPECT_EQ(runs.size(), 4u);
  EXPECT_EQ(ids.size(), runs.size());
}

TEST(FaultTest, AHungRunIsDetectedCancelledAndResumed) {
  ServiceStackOptions options;
  options.scheduler_flags = {"--run_hang_timeout=4s"};
  options.trainer_flags = {"--cancel_grace_seconds=1"};
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServiceStack> stack, ServiceStack::Start(options));
  // Stops making progress at step 15 (in epoch 2) on its first start only; a checkpoint every 4
  // steps inside epochs as well.
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      sched::Experiment submitted,
      stack->Submit("hang", kMiniConfig,
                    TinyRun(3, {"debug.fault=hang", "debug.fault_at_step=15",
                                "debug.fault_on_attempt=1", "training.checkpoint_every_steps=4"})));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      sched::Experiment done,
      stack->WaitForExperiment(submitted.id(), ExperimentFinished, kRunTimeout));
  ASSERT_EQ(done.state(), sched::EXPERIMENT_STATE_SUCCEEDED) << done.DebugString();
  EXPECT_EQ(done.runs(0).attempts(), 2);
  ASSERT_EQ(done.runs(0).retry_reasons_size(), 1);
  EXPECT_THAT(done.runs(0).retry_reasons(0), HasSubstr("no progress for 4s"));
  EXPECT_EQ(done.runs(0).progress().step(), 33);
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<trainer::v1::Run> runs, stack->TrainerRuns());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].attempt(), 2);
  EXPECT_EQ(runs[0].resumed_from_step(),
            12);  // the step checkpoint inside epoch 2, not epoch 1's (11)
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto loss, stack->History(submitted.runs(0).run_id(), "loss/total"));
  ExpectEveryStepOnce(loss, 33);
}

}  // namespace
}  // namespace jepalab
