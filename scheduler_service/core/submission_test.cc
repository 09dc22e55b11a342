#include "scheduler_service/core/submission.h"

#include <fstream>
#include <sstream>
#include <string>

#include "common/testing/status_matchers.h"
#include "config/trainer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

constexpr char kMiniConfig[] = "configs/training/jepa_pretrain_a6000_mini.yaml";

std::string MiniConfigYaml() {
  std::ifstream in(kMiniConfig);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

v1::SubmitExperimentRequest Request(const std::string& name) {
  v1::SubmitExperimentRequest request;
  request.set_name(name);
  request.set_config_yaml(MiniConfigYaml());
  request.set_config_path(kMiniConfig);
  return request;
}

TEST(SubmissionTest, BuildsNamedQueuedRunsOnePerSeed) {
  v1::SubmitExperimentRequest request = Request("mini");
  request.add_seeds(1);
  request.add_seeds(2);
  request.add_tags("baseline");
  request.set_priority(5);
  request.set_fair_share_group("team-a");
  JEPALAB_ASSERT_OK_AND_ASSIGN(ExperimentPlan plan,
                               PlanSubmission(request, /*have_metrics=*/false));
  const v1::Experiment experiment =
      BuildExperiment(plan, /*sequence=*/7, /*sweep_id=*/"", /*now_ms=*/1234);
  EXPECT_EQ(experiment.id(), "mini-0007");
  EXPECT_EQ(experiment.state(), v1::EXPERIMENT_STATE_QUEUED);
  EXPECT_EQ(experiment.created_unix_ms(), 1234);
  EXPECT_EQ(experiment.priority(), 5);
  EXPECT_EQ(experiment.fair_share_group(), "team-a");
  EXPECT_THAT(experiment.tags(), ElementsAre("baseline"));
  EXPECT_EQ(experiment.config_hash().size(), 64u);
  ASSERT_EQ(experiment.runs_size(), 2);
  EXPECT_EQ(experiment.runs(1).run_id(), "mini-0007-s2");
  EXPECT_FALSE(experiment.has_stop_on_collapse());
  // Each run record holds its config resolved once, seed applied, with that config's hash:
  // what every dispatch and retry sends.
  for (int i = 0; i < 2; ++i) {
    const v1::RunRecord& run = experiment.runs(i);
    EXPECT_EQ(run.config().seed(), i + 1);
    EXPECT_EQ(run.config_hash(), ::jepalab::config::ConfigHash(run.config()));
  }
  EXPECT_NE(experiment.runs(0).config_hash(), experiment.runs(1).config_hash());
  // A record stored before RunRecord.config existed is rebuilt from its experiment: the same.
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto config, RunConfig(experiment, 2));
  EXPECT_EQ(config.SerializeAsString(), experiment.runs(1).config().SerializeAsString());
}

TEST(SubmissionTest, NamesTheBadField) {
  EXPECT_THAT(PlanSubmission(Request("bad/name"), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: must match")));
  v1::SubmitExperimentRequest request = Request("mini");
  request.add_seeds(3);
  request.add_seeds(3);
  EXPECT_THAT(PlanSubmission(request, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seeds: duplicate seed 3")));
  request = Request("mini");
  request.set_priority(-1001);
  EXPECT_THAT(PlanSubmission(request, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("priority")));
  request = Request("mini");
  request.set_fair_share_group("a b");
  EXPECT_THAT(PlanSubmission(request, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fair_share_group")));
}

TEST(SubmissionTest, StopOnCollapseNeedsMetrics) {
  v1::StopOnCollapsePolicy policy;
  policy.set_enabled(true);
  EXPECT_THAT(
      ValidateStopOnCollapse(policy, /*have_metrics=*/false),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stop_on_collapse.enabled")));
  EXPECT_THAT(ValidateStopOnCollapse(policy, /*have_metrics=*/true), ::testing::IsOk());
  policy.add_indicators("");
  EXPECT_THAT(
      ValidateStopOnCollapse(policy, true),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stop_on_collapse.indicators[0]")));
}

TEST(SubmissionTest, ASweepIsValidatedWholeAndCarriesItsSharedSettings) {
  v1::SubmitSweepRequest request;
  request.set_name("lr");
  request.set_config_yaml(MiniConfigYaml());
  request.set_priority(3);
  for (const char* name : {"small", "big"}) {
    auto* variant = request.add_variants();
    variant->set_name(name);
    variant->add_overrides("optimizer.lr=0.001");
  }
  request.add_seeds(1);
  request.add_seeds(2);
  JEPALAB_ASSERT_OK_AND_ASSIGN(SweepPlan sweep, PlanSweep(request, false));
  EXPECT_EQ(sweep.name, "lr");
  ASSERT_EQ(sweep.experiments.size(), 2u);
  EXPECT_EQ(sweep.total_runs, 4u);
  EXPECT_EQ(sweep.experiments[1].name, "lr.big");
  EXPECT_EQ(sweep.experiments[1].priority, 3);

  request.mutable_variants(1)->add_overrides("optimizer.lr=-1");
  EXPECT_THAT(PlanSweep(request, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variants[1] (big): optimizer.lr: must be > 0")));
}

}  // namespace
}  // namespace jepalab::scheduler
