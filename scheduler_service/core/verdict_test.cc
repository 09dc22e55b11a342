#include "scheduler_service/core/verdict.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "config/plan.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {

using ::jepalab::config::LoadPlanFile;
using ::jepalab::config::PlanConfig;
using ::jepalab::config::PlanValidationOptions;
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::config::v1::PlanCriteria;
using ::jepalab::metrics::v1::Series;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

Series MakeSeries(const std::string& name, const std::vector<std::pair<int64_t, double>>& points) {
  Series series;
  series.set_name(name);
  for (const auto& [step, value] : points) {
    auto* point = series.add_points();
    point->set_step(step);
    point->set_value(value);
  }
  return series;
}

// A healthy run: val loss falls from 3.0 to `final_loss`, rank and isotropy stay high.
RunHistory HealthyRun(int64_t seed, double final_loss) {
  RunHistory run;
  run.run_id = absl::StrCat("r-s", seed);
  run.seed = seed;
  run.state = RunState::RUN_STATE_SUCCEEDED;
  run.series.push_back(
      MakeSeries("val/loss", {{100, 3.0}, {200, 2.5}, {300, 2.0}, {400, final_loss}}));
  for (const char* encoder : {"context", "target"}) {
    run.series.push_back(MakeSeries(absl::StrCat("diagnostics/", encoder, "/rankme"),
                                    {{0, 30.0}, {200, 20.0}, {400, 18.0}}));
    run.series.push_back(MakeSeries(absl::StrCat("diagnostics/", encoder, "/isotropy_robust"),
                                    {{0, 0.05}, {200, 0.02}, {400, 0.01}}));
  }
  run.series.push_back(MakeSeries("diagnostics/vq/usage_ratio", {{200, 0.6}, {400, 0.4}}));
  return run;
}

void SetSeries(RunHistory& run, Series series) {
  for (Series& existing : run.series) {
    if (existing.name() == series.name()) {
      existing = std::move(series);
      return;
    }
  }
  run.series.push_back(std::move(series));
}

PlanCriteria Criteria() {
  PlanCriteria criteria;
  criteria.set_min_rankme(5.0);
  criteria.set_min_isotropy_robust(0.001);
  return criteria;
}

TEST(FormatTest, StepsAreWhole) {
  EXPECT_EQ(FormatSteps(Summarize({12, 12, 49})), "24 ± 21");
  EXPECT_EQ(FormatSteps(Summarize({207})), "207");
  EXPECT_EQ(FormatSteps(Summarize({})), "-");
}

TEST(EvaluateRunTest, HealthyRunIsStableWithItsMeasurements) {
  RunVerdict verdict = EvaluateRun(HealthyRun(1, 1.5), Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kStable);
  EXPECT_TRUE(verdict.stable());
  EXPECT_THAT(verdict.reasons, IsEmpty());
  EXPECT_EQ(DescribeVerdict(verdict), "stable");
  EXPECT_DOUBLE_EQ(*verdict.final_val_loss, 1.5);
  EXPECT_DOUBLE_EQ(*verdict.min_rankme, 18.0);
  EXPECT_DOUBLE_EQ(*verdict.final_codebook_usage, 0.4);
  EXPECT_EQ(verdict.collapse_step, -1);
}

TEST(EvaluateRunTest, ValidationSpikeAtStep) {
  RunHistory run = HealthyRun(1, 1.8);
  // 3.5 > 1.5 x 2.0 (the best before it) at step 300; it recovers afterwards.
  SetSeries(run, MakeSeries("val/loss", {{100, 3.0}, {200, 2.0}, {300, 3.5}, {400, 1.8}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kSpike);
  EXPECT_EQ(verdict.step, 300);
  EXPECT_EQ(DescribeVerdict(verdict), "spike at step 300");
  EXPECT_THAT(verdict.reasons, Contains(HasSubstr("validation spike at step 300")));
}

TEST(EvaluateRunTest, NonFiniteValidationLossIsASpike) {
  RunHistory run = HealthyRun(1, 1.8);
  SetSeries(run, MakeSeries("val/loss", {{100, 3.0}, {200, std::nan("")}, {300, 1.8}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kSpike);
  EXPECT_EQ(verdict.step, 200);
}

TEST(EvaluateRunTest, RankBelowThresholdIsCollapseAtThatStep) {
  RunHistory run = HealthyRun(1, 1.5);
  SetSeries(run, MakeSeries("diagnostics/target/rankme", {{0, 30.0}, {200, 4.0}, {400, 1.2}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kCollapsed);
  EXPECT_EQ(verdict.step, 200);
  EXPECT_EQ(DescribeVerdict(verdict), "collapsed at step 200");
  EXPECT_THAT(verdict.reasons, ElementsAre("target rankme 4 < 5 at step 200"));
  EXPECT_DOUBLE_EQ(*verdict.min_rankme, 1.2);
  EXPECT_EQ(verdict.collapse_step, 200);
}

TEST(EvaluateRunTest, IsotropyBelowThresholdIsCollapse) {
  RunHistory run = HealthyRun(1, 1.5);
  SetSeries(run, MakeSeries("diagnostics/context/isotropy_robust", {{0, 0.05}, {400, 1e-5}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kCollapsed);
  EXPECT_EQ(verdict.step, 400);
  EXPECT_THAT(verdict.reasons, ElementsAre(HasSubstr("context isotropy_robust 1e-05 < 0.001")));
}

TEST(EvaluateRunTest, CollapseEventAndEarliestStepWins) {
  RunHistory run = HealthyRun(1, 1.5);
  run.first_collapse_step = 150;
  run.first_collapse_indicator = "codebook_usage";
  SetSeries(run, MakeSeries("diagnostics/context/rankme", {{0, 30.0}, {300, 1.0}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kCollapsed);
  EXPECT_EQ(verdict.step, 150);
  EXPECT_THAT(verdict.reasons, Contains("collapse event (codebook_usage) at step 150"));

  PlanCriteria allow = Criteria();
  allow.set_allow_collapse_events(true);
  EXPECT_EQ(EvaluateRun(run, allow).step, 300);  // only the rank breach remains
}

TEST(EvaluateRunTest, RunStoppedOnCollapseIsCollapsedNotFailed) {
  RunHistory run = HealthyRun(1, 1.5);
  run.state = ::jepalab::common::v1::RUN_STATE_CANCELLED;
  run.message = "stopped: collapsed (embedding_rank/target) at step 250";
  run.collapse_stop_step = 250;
  run.collapse_stop_indicator = "embedding_rank/target";
  PlanCriteria allow = Criteria();
  allow.set_allow_collapse_events(true);  // the stop counts all the same
  const RunVerdict verdict = EvaluateRun(run, allow);
  EXPECT_EQ(verdict.kind, RunVerdictKind::kCollapsed);
  EXPECT_EQ(verdict.step, 250);
  EXPECT_EQ(DescribeVerdict(verdict), "collapsed at step 250");
  EXPECT_THAT(verdict.reasons, Contains("stopped on collapse (embedding_rank/target) at step 250"));

  run.collapse_stop_step = -1;  // a plain cancel is still a failure
  EXPECT_EQ(EvaluateRun(run, Criteria()).kind, RunVerdictKind::kFailed);
}

TEST(EvaluateRunTest, WarmupPointsAreNotJudged) {
  RunHistory run = HealthyRun(1, 1.5);
  SetSeries(run, MakeSeries("diagnostics/context/rankme", {{0, 1.0}, {200, 20.0}}));
  PlanCriteria criteria = Criteria();
  EXPECT_EQ(EvaluateRun(run, criteria).kind, RunVerdictKind::kCollapsed);
  criteria.set_warmup_steps(100);
  EXPECT_EQ(EvaluateRun(run, criteria).kind, RunVerdictKind::kStable);
}

TEST(EvaluateRunTest, EarlyStopFailsUnlessAllowed) {
  RunHistory run = HealthyRun(1, 1.5);
  run.state = RunState::RUN_STATE_EARLY_STOPPED;
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kEarlyStopped);
  EXPECT_EQ(DescribeVerdict(verdict), "early stopped at step 400");
  PlanCriteria allow = Criteria();
  allow.set_allow_early_stop(true);
  EXPECT_TRUE(EvaluateRun(run, allow).stable());
}

TEST(EvaluateRunTest, DriftAboveToleranceIsNotDecreasing) {
  RunHistory run = HealthyRun(1, 1.5);
  // 1.95 > 1.8 x 1.05 but below the spike threshold; it ends below its start.
  SetSeries(run, MakeSeries("val/loss", {{100, 2.0}, {200, 1.8}, {300, 1.95}, {400, 1.85}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kNotDecreasing);
  EXPECT_THAT(verdict.reasons, ElementsAre(HasSubstr("val/loss rose to 1.95 at step 300")));
  // Within a 10 % tolerance it is decreasing.
  PlanCriteria loose = Criteria();
  loose.set_val_loss_tolerance(0.10);
  EXPECT_TRUE(EvaluateRun(run, loose).stable());
  // Ending above the start is never decreasing.
  SetSeries(run, MakeSeries("val/loss", {{100, 2.0}, {200, 2.0}}));
  EXPECT_THAT(EvaluateRun(run, loose).reasons, ElementsAre(HasSubstr("did not decrease")));
}

TEST(EvaluateRunTest, FailedRunOutranksEverything) {
  RunHistory run = HealthyRun(1, 1.5);
  run.state = RunState::RUN_STATE_DIVERGED;
  run.message = "loss is NaN";
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kFailed);
  EXPECT_EQ(DescribeVerdict(verdict), "failed (DIVERGED: loss is NaN)");
}

TEST(EvaluateRunTest, MissingDiagnosticsAreNotedOrRequired) {
  RunHistory run;
  run.seed = 1;
  run.series.push_back(MakeSeries("val/loss", {{1, 2.0}, {2, 1.0}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_TRUE(verdict.stable());
  EXPECT_THAT(verdict.notes, Contains(HasSubstr("diagnostics/context/rankme: no points")));
  EXPECT_FALSE(verdict.min_rankme.has_value());

  PlanCriteria strict = Criteria();
  strict.set_require_diagnostics(true);
  EXPECT_EQ(EvaluateRun(run, strict).kind, RunVerdictKind::kNoData);
}

TEST(EvaluateRunTest, TooLittleValidationHistoryIsNoData) {
  RunHistory run = HealthyRun(1, 1.5);
  SetSeries(run, MakeSeries("val/loss", {{100, 2.0}}));
  RunVerdict verdict = EvaluateRun(run, Criteria());
  EXPECT_EQ(verdict.kind, RunVerdictKind::kNoData);
  EXPECT_EQ(DescribeVerdict(verdict), "no data");
}

TEST(StatTest, MeanAndSampleDeviation) {
  Stat stat = Summarize({1.4, 1.5, 1.6});
  EXPECT_EQ(stat.n, 3);
  EXPECT_DOUBLE_EQ(stat.mean, 1.5);
  EXPECT_NEAR(stat.spread, 0.1, 1e-12);
  EXPECT_EQ(FormatStat(stat), "1.5 ± 0.1");
  EXPECT_EQ(FormatStat(Summarize({2.25})), "2.25");
  EXPECT_EQ(FormatStat(Summarize({})), "-");
}

TEST(FlattenConfigYamlTest, DottedKeys) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      auto flat, FlattenConfigYaml("seed: 1\noptimizer: {lr: 5e-05, name: adam}\n"
                                   "invariance: {symmetry_modes: [h, v]}\nx: null\n"));
  EXPECT_EQ(flat.at("seed"), "1");
  EXPECT_EQ(flat.at("optimizer.lr"), "5e-05");
  EXPECT_EQ(flat.at("optimizer.name"), "adam");
  EXPECT_EQ(flat.at("invariance.symmetry_modes"), "[h, v]");
  EXPECT_EQ(flat.at("x"), "null");
  EXPECT_THAT(FlattenConfigYaml("- a\n- b\n"),
              ::testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mapping")));
}

// Plan-level verdicts over the shipped plan with crafted outcomes.
class PlanVerdictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PlanValidationOptions options;
    JEPALAB_ASSERT_OK_AND_ASSIGN(plan_, LoadPlanFile("configs/plans/vq_diagnostic.yaml", options));
  }

  static PlanRunResults Healthy(std::vector<double> final_losses) {
    PlanRunResults results;
    int64_t seed = 1;
    for (double loss : final_losses) results.seeds.push_back(HealthyRun(seed++, loss));
    return results;
  }
  static PlanRunResults Spiking(double final_loss) {
    PlanRunResults results = Healthy({final_loss});
    SetSeries(results.seeds[0],
              MakeSeries("val/loss", {{100, 3.0}, {200, 2.0}, {300, 3.5}, {400, final_loss}}));
    return results;
  }
  static PlanRunResults Collapsing(int64_t step) {
    PlanRunResults results = Healthy({1.9});
    SetSeries(results.seeds[0], MakeSeries("diagnostics/context/rankme", {{0, 30.0}, {step, 1.0}}));
    return results;
  }

  PlanConfig plan_;
};

TEST_F(PlanVerdictTest, ScenarioAWhenTheVqAblationIsStable) {
  PlanResults results;
  results["baseline"] = Spiking(2.2);
  results["no_vq"] = Healthy({1.6, 1.7, 1.8});
  results["vq_no_refresh"] = Healthy({1.4, 1.5, 1.6});
  results["commitment_015"] = Collapsing(800);
  results["refresh_2000"] = Spiking(2.1);
  results["codebook_grad"] = Healthy({1.7});
  for (const char* name :
       {"minimal", "additional_vq_no_refresh", "minimal_plus_sigreg", "minimal_plus_invariance",
        "minimal_plus_relational", "minimal_plus_vq"}) {
    results[name] = Healthy({1.9});
  }
  results["infonce_only"] = Healthy({1.0});  // scenario B's: must be ignored

  PlanVerdict verdict = EvaluatePlan(plan_, results);
  EXPECT_TRUE(verdict.complete);
  EXPECT_EQ(verdict.scenario, "A");
  EXPECT_THAT(verdict.stages_run, ElementsAre("ablate_vq", "vq_fixes", "additional"));
  EXPECT_THAT(verdict.stable_fixes, ElementsAre("vq_no_refresh", "codebook_grad"));
  EXPECT_THAT(verdict.unstable_fixes, ElementsAre("commitment_015", "refresh_2000"));
  EXPECT_EQ(verdict.runs.size(), 12u);
  EXPECT_EQ(verdict.conclusion,
            "Scenario A. VQ is the cause (training is stable once VQ is ablated): baseline spike "
            "at step 300, no_vq stable (3/3 seeds) (vs reference: val loss -0.5 ± 0.05774, min "
            "rankme +0 ± 0); best fix: vq_no_refresh (dead-code refresh off), final val loss 1.5 "
            "± 0.1 over 3 seeds, min rankme 18 ± 0 (vs reference: val loss -0.7 ± 0.05774, min "
            "rankme +0 ± 0); evidence: 2 of 4 "
            "fixes stable; commitment_015 collapsed at step 800; refresh_2000 spike at step 300; "
            "minimal stable (1/1 seed); additional_vq_no_refresh stable (1/1 seed); "
            "minimal_plus_sigreg stable (1/1 seed); minimal_plus_invariance stable (1/1 seed); "
            "minimal_plus_relational stable (1/1 seed); minimal_plus_vq stable (1/1 seed).");
  EXPECT_THAT(verdict.table, StartsWith("| run | stage | seeds | verdict | final val loss |"));
  EXPECT_THAT(verdict.table,
              HasSubstr("| vq_no_refresh | vq_fixes | 3 | stable (3/3 seeds) | 1.5 ± 0.1 | 18 ± 0 "
                        "| 0.4 ± 0 | none |"));
  EXPECT_THAT(verdict.table, HasSubstr("| commitment_015 | vq_fixes | 1 | collapsed at step 800 | "
                                       "1.9 | 1 | 0.4 | 800 (1/1) |"));
  EXPECT_THAT(verdict.no_effect, IsEmpty());  // no configs given: no knobs to compare
}

TEST_F(PlanVerdictTest, ScenarioBWhenTheVqAblationIsUnstableAndIncompleteUntilItsStageEnds) {
  PlanResults results;
  results["baseline"] = Spiking(2.2);
  results["no_vq"] = Collapsing(400);
  results["infonce_only"] = Healthy({1.5});
  results["temperature_wide"] = Spiking(2.0);
  // context_last and context_learned have not finished.
  PlanVerdict verdict = EvaluatePlan(plan_, results);
  EXPECT_FALSE(verdict.complete);
  EXPECT_EQ(verdict.scenario, "B");
  EXPECT_EQ(verdict.pending_stage, "loss_fixes");
  EXPECT_THAT(verdict.stages_run, ElementsAre("ablate_vq", "loss_fixes"));
  EXPECT_THAT(verdict.conclusion,
              StartsWith("Scenario B. VQ is not the cause (training is unstable with VQ ablated "
                         "too): baseline spike at step 300, no_vq collapsed at step 400 (vs "
                         "reference: val loss -0.3, min rankme -17); best fix: infonce_only "
                         "(InfoNCE only (SIGReg, invariance, relational off))"));
  EXPECT_THAT(verdict.conclusion, HasSubstr("; incomplete: stage loss_fixes has not finished."));

  results["context_last"] = Spiking(2.0);
  results["context_learned"] = Spiking(2.0);
  results["infonce_only"] = Spiking(2.0);
  verdict = EvaluatePlan(plan_, results);
  EXPECT_EQ(verdict.pending_stage, "additional");
  EXPECT_THAT(verdict.conclusion,
              HasSubstr("best fix: none of infonce_only, temperature_wide, context_last, "
                        "context_learned made training stable; evidence: 0 of 4 fixes stable"));
}

TEST_F(PlanVerdictTest, AStableReferenceRunPutsACautionFirst) {
  PlanResults results;
  results["baseline"] = Healthy({1.8});  // the failure did not reproduce
  results["no_vq"] = Healthy({1.7});
  PlanVerdict verdict = EvaluatePlan(plan_, results);
  EXPECT_TRUE(verdict.reference_stable);
  EXPECT_EQ(verdict.scenario, "A");  // the tree is still followed
  EXPECT_THAT(
      verdict.conclusion,
      StartsWith("Caution: the reference run baseline met the criteria (the failure was not "
                 "reproduced), so the branch below follows the plan's tree but is no evidence "
                 "of a cause. Scenario A. VQ is the cause"));

  results["baseline"] = Spiking(2.2);
  verdict = EvaluatePlan(plan_, results);
  EXPECT_FALSE(verdict.reference_stable);
  EXPECT_THAT(verdict.conclusion, StartsWith("Scenario A."));
}

// Seeds that disagree make a run inconclusive: it takes neither branch, and the stage's `next`
// (none in stage 1 of the shipped plan) applies, which the conclusion says.
TEST_F(PlanVerdictTest, SeedsThatDisagreeAreInconclusiveAndTakeNoBranch) {
  PlanResults results;
  results["baseline"] = Collapsing(800);
  results["no_vq"] = Healthy({1.6});
  PlanRunResults second = Collapsing(400);
  second.seeds[0].seed = 2;
  results["no_vq"].seeds.push_back(second.seeds[0]);
  PlanVerdict verdict = EvaluatePlan(plan_, results);
  ASSERT_EQ(verdict.runs.size(), 2u);
  const RunSetOutcome& no_vq = verdict.runs[1];
  EXPECT_FALSE(no_vq.stable);
  EXPECT_TRUE(no_vq.inconclusive);
  EXPECT_EQ(no_vq.verdict,
            "inconclusive (1 of 2 seeds collapsed): collapsed at step 400 (seed 2); stable 1/2");
  EXPECT_TRUE(verdict.complete);
  EXPECT_TRUE(verdict.scenario.empty());
  EXPECT_THAT(verdict.stages_run, ElementsAre("ablate_vq"));
  EXPECT_THAT(verdict.inconclusive_runs, ElementsAre("no_vq"));
  EXPECT_THAT(verdict.conclusion,
              StartsWith("No scenario decided: baseline collapsed at step 800, no_vq "
                         "inconclusive (1 of 2 seeds collapsed)"));
  EXPECT_THAT(verdict.conclusion,
              HasSubstr("stage ablate_vq: no_vq is inconclusive (seeds disagree), so no "
                        "if_stable/if_unstable branch was taken; the plan ended there."));
}

TEST_F(PlanVerdictTest, UnanimousSeedsCarryCountsAndSteps) {
  PlanResults results;
  results["baseline"] = Collapsing(100);
  for (int64_t step : {200, 300}) {
    PlanRunResults more = Collapsing(step);
    more.seeds[0].seed = step;
    results["baseline"].seeds.push_back(more.seeds[0]);
  }
  results["no_vq"] = Healthy({1.6, 1.8});
  PlanVerdict verdict = EvaluatePlan(plan_, results);
  ASSERT_EQ(verdict.runs.size(), 2u);
  EXPECT_EQ(verdict.runs[0].verdict, "collapsed in 3 of 3 seeds at steps 200 ± 100");
  EXPECT_FALSE(verdict.runs[0].inconclusive);
  EXPECT_EQ(verdict.scenario, "A");
  // Effect size: difference of means ± its standard error (sqrt(0^2/3 + 0.1414^2/2) = 0.1).
  EXPECT_EQ(verdict.runs[1].vs_reference, "val loss -0.2 ± 0.1, min rankme +17 ± 0");
}

TEST_F(PlanVerdictTest, NothingRunYet) {
  PlanVerdict verdict = EvaluatePlan(plan_, {});
  EXPECT_FALSE(verdict.complete);
  EXPECT_EQ(verdict.pending_stage, "ablate_vq");
  EXPECT_EQ(verdict.conclusion,
            "No scenario decided; incomplete: stage ablate_vq has not finished.");
}

TEST_F(PlanVerdictTest, KnobWithNoMeasurableEffect) {
  const std::map<std::string, std::string> base = {{"seed", "123"},
                                                   {"object_encoder.commitment_cost", "0.3"},
                                                   {"object_encoder.vq_enabled", "true"},
                                                   {"object_encoder.vq_refresh_enabled", "true"},
                                                   {"sigreg.weight", "0.1"}};
  PlanResults results;
  results["baseline"] = Spiking(2.0);
  results["baseline"].config = base;
  // Commitment cost is ignored by the reference objective: the same outcome within 1 %.
  results["commitment_015"] = Spiking(2.01);
  results["commitment_015"].config = base;
  results["commitment_015"].config["object_encoder.commitment_cost"] = "0.15";
  results["commitment_015"].config["seed"] = "124";  // seeds are not knobs
  // Ablating VQ (two keys) changes the outcome: an effect, not reported.
  results["no_vq"] = Healthy({1.5});
  results["no_vq"].config = base;
  results["no_vq"].config["object_encoder.vq_enabled"] = "false";
  results["no_vq"].config["object_encoder.vq_refresh_enabled"] = "false";
  // Equal outcome but three keys changed: not a knob.
  results["vq_no_refresh"] = Spiking(2.0);
  results["vq_no_refresh"].config = base;
  results["vq_no_refresh"].config["object_encoder.vq_refresh_enabled"] = "false";
  results["vq_no_refresh"].config["sigreg.weight"] = "0.2";
  results["vq_no_refresh"].config["object_encoder.commitment_cost"] = "0.2";
  // A clear loss difference (beyond 1 %) is an effect.
  results["refresh_2000"] = Spiking(2.3);
  results["refresh_2000"].config = base;
  results["refresh_2000"].config["object_encoder.commitment_cost"] = "0.5";

  PlanVerdict verdict = EvaluatePlan(plan_, results);
  EXPECT_EQ(verdict.scenario, "A");
  ASSERT_EQ(verdict.no_effect.size(), 1u);
  EXPECT_EQ(verdict.no_effect[0].run_a, "baseline");
  EXPECT_EQ(verdict.no_effect[0].run_b, "commitment_015");
  EXPECT_THAT(verdict.no_effect[0].changes,
              ElementsAre("object_encoder.commitment_cost: 0.3 -> 0.15"));
  EXPECT_THAT(verdict.conclusion,
              HasSubstr("no measurable effect: commitment_015 vs baseline "
                        "(object_encoder.commitment_cost: 0.3 -> 0.15): final val loss 2.01 vs 2, "
                        "both unstable"));
}

TEST_F(PlanVerdictTest, SpreadOverSeedsCountsAsNoise) {
  const std::map<std::string, std::string> base = {{"object_encoder.commitment_cost", "0.3"}};
  PlanResults results;
  results["baseline"] = Healthy({1.0, 1.2, 1.4});  // mean 1.2, sd 0.2
  results["baseline"].config = base;
  results["no_vq"] = Healthy({1.1, 1.3, 1.5});  // mean 1.3: 8 % apart, within 2 sd
  results["no_vq"].config = {{"object_encoder.commitment_cost", "0.15"}};
  PlanVerdict verdict = EvaluatePlan(plan_, results);
  ASSERT_EQ(verdict.no_effect.size(), 1u);
  EXPECT_EQ(verdict.no_effect[0].run_b, "no_vq");
}

}  // namespace
}  // namespace jepalab::scheduler
