// Health-aware early termination over the real services: metrics_service's collapse detectors
// see the mini run collapse, the scheduler follows WatchCollapseEvents, stops the run on its
// trainer and records where, and the remaining steps are never trained.
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service_stack.h"

namespace jepalab {
namespace {

using ::jepalab::testing::ExperimentFinished;
using ::jepalab::testing::ServiceStack;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace sched = ::jepalab::scheduler::v1;

// The reference's baseline shrunk to 87 steps.
constexpr char kMiniConfig[] = "configs/training/jepa_pretrain_a6000_mini.yaml";

TEST(EarlyTerminationTest, ACollapsedRunIsStoppedWhereTheCollapseWasConfirmed) {
  // The _mini encoder embeds in 32 dimensions; its context RankMe stays around 1.5-4 as VQ
  // collapses. A rank threshold for that scale makes the stop certain, whatever the seed does.
  jepalab::testing::ServiceStackOptions options;
  options.metrics_flags = {
      "--config_override=collapse_detectors.rank.collapsed_below=4.5,collapse_detectors.rank."
      "healthy_above=6"};
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServiceStack> stack, ServiceStack::Start(options));
  sched::SubmitExperimentRequest request;
  request.set_name("collapse");
  request.add_overrides("training.num_threads=1");
  request.mutable_stop_on_collapse()->set_enabled(true);
  request.mutable_stop_on_collapse()->set_confirm_events(1);
  JEPALAB_ASSERT_OK_AND_ASSIGN(sched::Experiment submitted, stack->Submit(request, kMiniConfig));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      sched::Experiment done,
      stack->WaitForExperiment(submitted.id(), ExperimentFinished, absl::Minutes(3)));

  const sched::RunRecord& run = done.runs(0);
  ASSERT_TRUE(run.has_collapse_stop()) << done.DebugString();
  EXPECT_EQ(run.state(), common::v1::RUN_STATE_CANCELLED);
  EXPECT_THAT(run.message(), StartsWith("stopped: collapsed ("));
  EXPECT_GT(run.collapse_stop().step(), 0);
  // Judged a failure of the run, not a user's cancel; and compute was saved.
  EXPECT_EQ(done.state(), sched::EXPERIMENT_STATE_FAILED);
  EXPECT_LT(run.progress().step(), run.progress().total_steps());
  EXPECT_GE(run.progress().step(), run.collapse_stop().step());

  // The trainer really stopped the worker (cooperative cancel, not a crash).
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<trainer::v1::Run> runs, stack->TrainerRuns());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state(), common::v1::RUN_STATE_CANCELLED);
  EXPECT_THAT(runs[0].message(), HasSubstr("cancelled at step"));
  // metrics_service holds the history up to the stop, and no further than the trainer got.
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto loss, stack->History(run.run_id(), "loss/total"));
  ASSERT_FALSE(loss.empty());
  EXPECT_LE(loss.back().step(), runs[0].progress().step());
  EXPECT_GE(loss.back().step(), run.collapse_stop().step());
}

}  // namespace
}  // namespace jepalab
