// Each criterion of the verdict on histories recorded from real _mini runs
// (tests/testdata/histories/README.md): the a6000 _mini run, whose context encoder collapses, and
// its VQ ablation, which stays healthy. Both project to d = 32.
#include <string>
#include <utility>
#include <vector>

#include "common/testing/recorded_history.h"
#include "common/testing/status_matchers.h"
#include "config/plan.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler_service/core/verdict.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::config::LoadPlanFile;
using ::jepalab::config::PlanConfig;
using ::jepalab::config::PlanValidationOptions;
using ::jepalab::config::v1::PlanCriteria;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMiniDimension = 32;
constexpr char kCollapsed[] = "tests/testdata/histories/pretrain_a6000_mini_seed124.csv";
constexpr char kHealthy[] = "tests/testdata/histories/diag_no_vq_mini_seed124.csv";

RunHistory Recorded(const std::string& path) {
  RunHistory run;
  run.run_id = path;
  run.seed = 124;
  run.state = RunState::RUN_STATE_SUCCEEDED;
  absl::StatusOr<std::vector<metrics::v1::Series>> series =
      jepalab::testing::LoadRecordedHistory(path);
  EXPECT_TRUE(series.ok()) << series.status();
  if (series.ok()) run.series = *std::move(series);
  return run;
}

PlanCriteria ShippedCriteria() {
  PlanValidationOptions options;
  absl::StatusOr<PlanConfig> plan = LoadPlanFile("configs/plans/vq_diagnostic.yaml", options);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? plan->criteria() : PlanCriteria();
}

TEST(RecordedHistoryTest, ShippedCriteriaFailTheCollapsedRunAndPassTheHealthyOne) {
  const RunVerdict collapsed = EvaluateRun(Recorded(kCollapsed), ShippedCriteria(), 32);
  EXPECT_EQ(collapsed.kind, RunVerdictKind::kCollapsed);
  EXPECT_EQ(DescribeVerdict(collapsed), "collapsed at step 19");
  EXPECT_THAT(collapsed.reasons, Contains(HasSubstr("context rankme 1.91 < 2 at step 19")));
  const RunVerdict healthy = EvaluateRun(Recorded(kHealthy), ShippedCriteria(), 32);
  EXPECT_TRUE(healthy.stable()) << ::testing::PrintToString(healthy.reasons);
  EXPECT_THAT(healthy.reasons, IsEmpty());
}

// Rule: at least two effective dimensions (RankMe >= 2).
TEST(RecordedHistoryTest, MinRankMe) {
  PlanCriteria criteria;
  criteria.set_min_rankme(2.0);
  EXPECT_EQ(EvaluateRun(Recorded(kCollapsed), criteria).kind, RunVerdictKind::kCollapsed);
  EXPECT_TRUE(EvaluateRun(Recorded(kHealthy), criteria).stable());
}

// Rule: keep at least half of the early RankMe. The recorded collapse is already present at the
// first diagnostics window (step 19; with diagnostics every 5 steps, context RankMe is 1.88 at
// step 4), so this rule alone does not see it: the absolute floor above does.
TEST(RecordedHistoryTest, RankMeFractionOfEarlyCannotSeeACollapseBeforeItsWindow) {
  PlanCriteria criteria;
  criteria.set_min_rankme_fraction_of_early(0.5);
  EXPECT_TRUE(EvaluateRun(Recorded(kHealthy), criteria).stable());
  EXPECT_TRUE(EvaluateRun(Recorded(kCollapsed), criteria).stable());
  const RunVerdict early = EvaluateRun(
      Recorded("tests/testdata/histories/pretrain_a6000_mini_seed124_interval5.csv"), criteria);
  EXPECT_TRUE(early.stable());
  // A stricter fraction does fire, on the drop from the early window, where the run falls.
  criteria.set_min_rankme_fraction_of_early(0.9);
  const RunVerdict strict = EvaluateRun(Recorded(kCollapsed), criteria);
  EXPECT_EQ(strict.kind, RunVerdictKind::kCollapsed);
  EXPECT_THAT(strict.reasons, Contains(HasSubstr("context rankme 1.643 < 0.9 x early 1.91")));
}

// The participation ratio d x isotropy_robust is ~1.2 of 32 for the context encoder of both
// runs: one direction dominates the variance in the healthy run too, so a floor of 2 effective
// dimensions on it fails both. This is why the shipped plan does not judge it.
TEST(RecordedHistoryTest, ParticipationRatioDoesNotSeparateTheRecordedRuns) {
  PlanCriteria criteria;
  criteria.set_min_participation_ratio(2.0);
  const RunVerdict collapsed = EvaluateRun(Recorded(kCollapsed), criteria, kMiniDimension);
  const RunVerdict healthy = EvaluateRun(Recorded(kHealthy), criteria, kMiniDimension);
  EXPECT_EQ(collapsed.kind, RunVerdictKind::kCollapsed);
  EXPECT_EQ(healthy.kind, RunVerdictKind::kCollapsed);
  EXPECT_THAT(healthy.reasons, Contains(HasSubstr("context participation ratio 1.9")));
  // Without the dimension it is not judged.
  EXPECT_THAT(EvaluateRun(Recorded(kHealthy), criteria).notes,
              Contains(HasSubstr("participation ratio not checked")));
}

// Rule relative to a healthy control of the same seed: here the VQ ablation is the control. The
// collapsed run's min RankMe is 1.629 against the control's 3.194 (0.51 of it), so "at least half
// of the control" does not fire on it; "at least two thirds" does. The control itself is not
// judged against itself.
TEST(RecordedHistoryTest, RankMeFractionOfTheSameSeedControl) {
  PlanConfig plan;
  plan.set_name("control");
  plan.set_reference_run("control");
  plan.mutable_criteria()->set_min_rankme_fraction_of_reference(0.5);
  auto* stage = plan.add_stages();
  stage->set_name("one");
  for (const char* name : {"control", "vq"}) {
    auto* run = stage->add_runs();
    run->set_name(name);
    run->set_config("x.yaml");
  }
  PlanResults results;
  results["control"].seeds.push_back(Recorded(kHealthy));
  results["vq"].seeds.push_back(Recorded(kCollapsed));
  PlanVerdict verdict = EvaluatePlan(plan, results);
  ASSERT_EQ(verdict.runs.size(), 2u);
  EXPECT_TRUE(verdict.runs[0].stable);
  EXPECT_TRUE(verdict.runs[1].stable);

  plan.mutable_criteria()->set_min_rankme_fraction_of_reference(2.0 / 3);
  verdict = EvaluatePlan(plan, results);
  EXPECT_TRUE(verdict.runs[0].stable);
  EXPECT_EQ(verdict.runs[1].verdict, "collapsed at step 19");
  EXPECT_THAT(verdict.runs[1].seeds[0].reasons,
              Contains(HasSubstr("context rankme (0.6667 x the reference's 3.194) 1.91 < 2.129")));
  // A seed the control lacks is not judged against it.
  results["vq"].seeds[0].seed = 7;
  verdict = EvaluatePlan(plan, results);
  EXPECT_TRUE(verdict.runs[1].stable);
  EXPECT_THAT(verdict.runs[1].seeds[0].notes, Contains(HasSubstr("has no RankMe for seed 7")));
}

// The seed's own criteria, reported verbatim: both recorded runs fail them (the healthy run's
// context effective rank is ~1.5 on the reference definition), and the reference isotropy of
// both is the 1e-6 jitter over lambda_max.
TEST(RecordedHistoryTest, SeedCriteriaAreReportedWithTheirJitterCaveat) {
  for (const char* path : {kCollapsed, kHealthy}) {
    const RunVerdict verdict = EvaluateRun(Recorded(path), PlanCriteria(), kMiniDimension);
    ASSERT_EQ(verdict.seed_criteria.size(), 2u) << path;
    const SeedCriterion& rank = verdict.seed_criteria[0];
    EXPECT_EQ(rank.text, "effective rank > 5");
    EXPECT_FALSE(rank.passed) << path;
    EXPECT_FALSE(rank.unreachable);  // d = 32 > 5
    const SeedCriterion& isotropy = verdict.seed_criteria[1];
    EXPECT_EQ(isotropy.text, "isotropy > 1e-3");
    EXPECT_FALSE(isotropy.passed) << path;
    EXPECT_THAT(isotropy.caveat, HasSubstr("dominated by the 1e-6 jitter")) << path;
    // The seed criteria decide nothing: the healthy run fails both and is still stable.
    if (std::string(path) == kHealthy) {
      EXPECT_TRUE(verdict.stable()) << path;
    }
  }
  // Effective rank > 5 cannot hold at d <= 5.
  const RunVerdict small = EvaluateRun(Recorded(kHealthy), PlanCriteria(), 4);
  EXPECT_TRUE(small.seed_criteria[0].unreachable);
  EXPECT_EQ(small.seed_criteria[0].caveat, "unreachable: effective rank <= d = 4");
}

TEST(RecordedHistoryTest, ThePlanOnTheRecordedRunsTakesScenarioA) {
  PlanValidationOptions options;
  JEPALAB_ASSERT_OK_AND_ASSIGN(PlanConfig plan,
                               LoadPlanFile("configs/plans/vq_diagnostic.yaml", options));
  PlanResults results;
  results["baseline"].seeds.push_back(Recorded(kCollapsed));
  results["baseline"].config["loss.projection_dim"] = "32";
  results["no_vq"].seeds.push_back(Recorded(kHealthy));
  results["no_vq"].config["loss.projection_dim"] = "32";
  const PlanVerdict verdict = EvaluatePlan(plan, results);
  EXPECT_EQ(verdict.scenario, "A");
  EXPECT_EQ(verdict.pending_stage, "vq_fixes");
  EXPECT_THAT(verdict.conclusion, HasSubstr("baseline collapsed at step 19, no_vq stable (1/1 "
                                            "seed) (vs reference: val loss -0.1281, min rankme "
                                            "+1.565)"));
  EXPECT_THAT(
      verdict.conclusion,
      HasSubstr("Seed plan's criteria on the reference statistics (reported, not "
                "deciding): effective rank > 5 met in 0 of 2 runs; isotropy > 1e-3 met in 0 "
                "of 2 runs (baseline, no_vq: dominated by the 1e-6 jitter)."));
  EXPECT_THAT(verdict.table, HasSubstr("isotropy > 1e-3: 0/1 seed (min "));
}

}  // namespace
}  // namespace jepalab::scheduler
