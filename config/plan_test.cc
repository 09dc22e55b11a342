#include "config/plan.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "config/trainer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

constexpr char kShippedPlan[] = "configs/plans/vq_diagnostic.yaml";

// Loads every run config with its overrides, as the scheduler will.
absl::Status LoadRunConfig(const std::string& path, const std::string& yaml,
                           const std::vector<std::string>& overrides) {
  return LoadTrainerConfig(yaml, path, overrides).status();
}

std::vector<std::string> RunNames(const PlanStage& stage) {
  std::vector<std::string> names;
  for (const PlanRun& run : stage.runs()) names.push_back(run.name());
  return names;
}

TEST(ShippedPlanTest, ParsesAndValidatesWithEveryConfigLoading) {
  for (const std::string scale : {"", "repro", "mini"}) {
    PlanValidationOptions options;
    options.scale = scale;
    options.read_config = ConfigsUnder("");
    options.check_run_config = LoadRunConfig;
    EXPECT_THAT(LoadPlanFile(kShippedPlan, options), IsOk()) << "scale " << scale;
  }
}

TEST(ShippedPlanTest, EveryConfigItNamesExistsAtEveryScale) {
  PlanValidationOptions options;
  JEPALAB_ASSERT_OK_AND_ASSIGN(PlanConfig plan, LoadPlanFile(kShippedPlan, options));
  int runs = 0;
  for (const PlanStage& stage : plan.stages()) {
    for (const PlanRun& run : stage.runs()) {
      for (const std::string scale : {"", "repro", "mini"}) {
        JEPALAB_ASSERT_OK_AND_ASSIGN(std::string path, RunConfigPath(run, scale));
        EXPECT_TRUE(std::filesystem::is_regular_file(path)) << run.name() << ": " << path;
        if (!scale.empty()) {
          EXPECT_TRUE(absl::EndsWith(path, "_" + scale + ".yaml")) << path;
        }
      }
      ++runs;
    }
  }
  EXPECT_EQ(runs, 16);
}

TEST(ShippedPlanTest, CriteriaAreTheSameAtEveryScale) {
  // Its thresholds are stated in effective dimensions or relative to the run itself: no
  // mini_criteria.
  PlanValidationOptions options;
  JEPALAB_ASSERT_OK_AND_ASSIGN(PlanConfig full, LoadPlanFile(kShippedPlan, options));
  EXPECT_FALSE(full.has_mini_criteria());
  PlanConfig mini = full;
  ApplyMiniCriteria("mini", &mini);
  EXPECT_EQ(mini.criteria().SerializeAsString(), full.criteria().SerializeAsString());
}

TEST(PlanTest, MiniCriteriaStillReplaceTheFieldsTheySet) {
  PlanConfig plan;
  plan.mutable_criteria()->set_min_rankme(5.0);
  plan.mutable_criteria()->set_spike_factor(2.0);
  plan.mutable_mini_criteria()->set_min_rankme(2.0);
  ApplyMiniCriteria("mini", &plan);
  EXPECT_EQ(plan.criteria().min_rankme(), 2.0);
  EXPECT_EQ(plan.criteria().spike_factor(), 2.0);
}

TEST(ShippedPlanTest, EncodesTheSeedPlan) {
  PlanValidationOptions options;
  JEPALAB_ASSERT_OK_AND_ASSIGN(PlanConfig plan, LoadPlanFile(kShippedPlan, options));
  EXPECT_EQ(plan.name(), "vq_diagnostic");
  ASSERT_EQ(plan.stages_size(), 4);

  // Stage 1: baseline and the VQ ablation; A if the ablation is stable, B otherwise.
  const PlanStage& stage1 = plan.stages(0);
  EXPECT_THAT(RunNames(stage1), ElementsAre("baseline", "no_vq"));
  EXPECT_EQ(stage1.runs(0).config(), "configs/training/jepa_pretrain_a6000.yaml");
  EXPECT_EQ(stage1.runs(1).config(), "configs/training/jepa_diag_no_vq.yaml");
  JEPALAB_ASSERT_OK_AND_ASSIGN(BranchChoice a,
                               ChooseBranch(stage1, {{"baseline", false}, {"no_vq", true}}));
  EXPECT_EQ(a.scenario, "A");
  EXPECT_EQ(a.next_stage, "vq_fixes");
  JEPALAB_ASSERT_OK_AND_ASSIGN(BranchChoice b,
                               ChooseBranch(stage1, {{"baseline", false}, {"no_vq", false}}));
  EXPECT_EQ(b.scenario, "B");
  EXPECT_EQ(b.next_stage, "loss_fixes");

  // Scenario A: no refresh, commitment 0.15, gentle refresh, gradient codebook.
  const PlanStage& vq = plan.stages(FindStage(plan, "vq_fixes"));
  EXPECT_TRUE(vq.fixes());
  EXPECT_THAT(RunNames(vq),
              ElementsAre("vq_no_refresh", "commitment_015", "refresh_2000", "codebook_grad"));
  EXPECT_EQ(vq.next(), "additional");
  // Scenario B: InfoNCE only, temperature [0.03, 0.30], context aggregation last and learned.
  const PlanStage& loss = plan.stages(FindStage(plan, "loss_fixes"));
  EXPECT_THAT(RunNames(loss),
              ElementsAre("infonce_only", "temperature_wide", "context_last", "context_learned"));
  EXPECT_EQ(loss.next(), "additional");
  // Additional: minimal, VQ without refresh, one addition at a time from the minimal config.
  const PlanStage& extra = plan.stages(FindStage(plan, "additional"));
  EXPECT_THAT(RunNames(extra),
              ElementsAre("minimal", "additional_vq_no_refresh", "minimal_plus_sigreg",
                          "minimal_plus_invariance", "minimal_plus_relational", "minimal_plus_vq"));
  for (int r = 2; r < extra.runs_size(); ++r) {
    EXPECT_EQ(extra.runs(r).config(), "configs/training/jepa_diag_minimal.yaml");
  }
  EXPECT_THAT(extra.runs(2).overrides(), ElementsAre("sigreg.weight=0.1"));
  EXPECT_TRUE(extra.next().empty());

  // Criteria: the whole "stable" definition.
  EXPECT_DOUBLE_EQ(plan.criteria().val_loss_tolerance(), 0.05);
  EXPECT_DOUBLE_EQ(plan.criteria().spike_factor(), 1.5);
  EXPECT_DOUBLE_EQ(plan.criteria().min_rankme(), 2.0);
  EXPECT_DOUBLE_EQ(plan.criteria().min_rankme_fraction_of_early(), 0.5);
  EXPECT_EQ(plan.criteria().early_window_points(), 1);
  EXPECT_FALSE(plan.criteria().has_min_isotropy_robust());
  EXPECT_FALSE(plan.criteria().allow_early_stop());
  EXPECT_FALSE(plan.criteria().allow_collapse_events());
}

TEST(ShippedPlanTest, SingleLossAdditionsReverseExactlyTheMinimalConfigsChange) {
  // Each addition must give back the baseline's value of what it adds.
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto baseline,
                               LoadTrainerConfigFile("configs/training/jepa_pretrain_a6000.yaml"));
  PlanValidationOptions options;
  JEPALAB_ASSERT_OK_AND_ASSIGN(PlanConfig plan, LoadPlanFile(kShippedPlan, options));
  auto load = [&](const std::string& name) {
    const PlanRun* run = FindRun(plan, name);
    EXPECT_NE(run, nullptr) << name;
    return LoadTrainerConfigFile(run->config(), {run->overrides().begin(), run->overrides().end()});
  };
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto sigreg, load("minimal_plus_sigreg"));
  EXPECT_DOUBLE_EQ(sigreg.sigreg().weight(), baseline.sigreg().weight());
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto invariance, load("minimal_plus_invariance"));
  EXPECT_DOUBLE_EQ(invariance.invariance().color_weight(), baseline.invariance().color_weight());
  EXPECT_DOUBLE_EQ(invariance.invariance().translation_weight(),
                   baseline.invariance().translation_weight());
  EXPECT_DOUBLE_EQ(invariance.invariance().symmetry_weight(),
                   baseline.invariance().symmetry_weight());
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto relational, load("minimal_plus_relational"));
  EXPECT_DOUBLE_EQ(relational.relational_loss().weight(), baseline.relational_loss().weight());
  EXPECT_DOUBLE_EQ(relational.relational_loss().context_self_weight(),
                   baseline.relational_loss().context_self_weight());
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto vq, load("minimal_plus_vq"));
  EXPECT_EQ(vq.object_encoder().vq_enabled(), baseline.object_encoder().vq_enabled());
  EXPECT_EQ(vq.object_encoder().vq_refresh_enabled(),
            baseline.object_encoder().vq_refresh_enabled());
  EXPECT_DOUBLE_EQ(vq.sigreg().weight(), 0.0);  // nothing else added
}

// Bad plans, over a scratch directory holding a.yaml, a_mini.yaml and b.yaml.
class PlanValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::path(std::getenv("TEST_TMPDIR")) / "plan_configs").string();
    std::filesystem::create_directories(dir_);
    for (const char* name : {"a.yaml", "a_mini.yaml", "b.yaml"}) {
      std::ofstream(std::filesystem::path(dir_) / name) << "seed: 1\n";
    }
    options_.read_config = ConfigsUnder(dir_);
  }

  absl::Status Validate(const std::string& yaml) {
    absl::StatusOr<PlanConfig> plan = ParsePlan(yaml, "plan.yaml");
    if (!plan.ok()) return plan.status();
    return ValidatePlan(*plan, options_);
  }

  static constexpr char kGood[] = R"(
name: p
stages:
  - name: one
    runs:
      - {name: r1, config: a.yaml}
      - {name: r2, config: b.yaml, overrides: [optimizer.lr=1e-4], seeds: [1, 2]}
    branches:
      - {if_stable: [r1], next: two, scenario: A}
    next: three
  - name: two
    runs: [{name: r3, config: a.yaml}]
    next: three
  - name: three
    runs: [{name: r4, config: a.yaml}]
)";

  std::string dir_;
  PlanValidationOptions options_;
};

TEST_F(PlanValidationTest, GoodPlanIsValid) { EXPECT_THAT(Validate(kGood), IsOk()); }

TEST_F(PlanValidationTest, MissingConfigFileNamesTheField) {
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
    next: two
  - name: two
    runs: [{name: r2, config: missing.yaml}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[1].runs[0].config: file not found: missing.yaml")));
}

TEST_F(PlanValidationTest, MiniModeNeedsTheMiniSibling) {
  options_.scale = "mini";
  // a.yaml has a_mini.yaml; b.yaml has none.
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}, {name: r2, config: b.yaml}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[1].config: file not found: b_mini.yaml")));
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml, mini_config: nope.yaml}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[0].mini_config: file not found: nope.yaml")));
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.json}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[0].config: cannot derive the mini config")));
}

TEST_F(PlanValidationTest, UnknownStageInBranch) {
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
    branches: [{if_stable: [r1], next: nowhere}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].branches[0].next: unknown stage \"nowhere\"")));
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
    next: nowhere
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].next: unknown stage \"nowhere\"")));
}

TEST_F(PlanValidationTest, CycleIsNamed) {
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
    next: two
  - name: two
    runs: [{name: r2, config: a.yaml}]
    branches: [{if_stable: [r2], next: one}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[1].branches[0].next: cycle: one -> two -> one")));
  EXPECT_THAT(
      Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
    next: one
)"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stages[0].next: cycle: one -> one")));
}

TEST_F(PlanValidationTest, UnreachableStage) {
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
  - name: two
    runs: [{name: r2, config: a.yaml}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[1]: stage \"two\" is unreachable")));
}

TEST_F(PlanValidationTest, BranchRunsMustBelongToTheStage) {
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
    branches: [{if_stable: [r1], if_unstable: [ghost]}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].branches[0].if_unstable[0]: unknown run \"ghost\"")));
}

TEST_F(PlanValidationTest, NamesAreIdsAndUnique) {
  EXPECT_THAT(Validate("stages: [{name: one, runs: [{name: r1, config: a.yaml}]}]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - name: one
    runs: [{name: r1, config: a.yaml}]
    next: two
  - name: two
    runs: [{name: r1, config: b.yaml}]
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[1].runs[0].name: duplicate run \"r1\" (first in "
                                 "stages[0].runs[0])")));
  EXPECT_THAT(Validate(R"(
name: p
stages:
  - {name: one, runs: [{name: r1, config: a.yaml}], next: one}
  - {name: one, runs: [{name: r2, config: a.yaml}]}
)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[1].name: duplicate stage \"one\"")));
  EXPECT_THAT(Validate("name: p\nstages: [{name: one, runs: [{name: ../x, config: a.yaml}]}]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stages[0].runs[0].name")));
}

TEST_F(PlanValidationTest, MiniCriteriaAreValidatedUnderTheirOwnName) {
  EXPECT_THAT(Validate("name: p\nmini_criteria: {min_rankme: -1}\nstages: [{name: one, runs: "
                       "[{name: r1, config: a.yaml}]}]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mini_criteria.min_rankme: must be >= 0, got -1")));
}

TEST_F(PlanValidationTest, EmptyStagesAndRuns) {
  EXPECT_THAT(Validate("name: p"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stages: must not be empty")));
  EXPECT_THAT(
      Validate("name: p\nstages: [{name: one}]"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stages[0].runs: must not be empty")));
  EXPECT_THAT(Validate("name: p\nstages: [{name: one, runs: [{name: r1}]}]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[0].config: must be set")));
}

TEST_F(PlanValidationTest, OverridesAndSeeds) {
  EXPECT_THAT(
      Validate("name: p\nstages: [{name: one, runs: [{name: r1, config: a.yaml, "
               "overrides: [optimizer.lr]}]}]"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("stages[0].runs[0].overrides[0]: expected key=value, got \"optimizer.lr\"")));
  EXPECT_THAT(Validate("name: p\nstages: [{name: one, runs: [{name: r1, config: a.yaml, "
                       "seeds: [1, 1]}]}]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[0].seeds[1]: duplicate seed 1")));
  EXPECT_THAT(
      Validate("name: p\nseeds: [3, -1]\nstages: [{name: one, runs: [{name: r1, "
               "config: a.yaml}]}]"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seeds[1]: must be >= 0, got -1")));
}

TEST_F(PlanValidationTest, CriteriaAndEffectRanges) {
  const std::string stages = "\nstages: [{name: one, runs: [{name: r1, config: a.yaml}]}]";
  EXPECT_THAT(Validate("name: p\ncriteria: {spike_factor: 0.9}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.spike_factor: must be > 1, got 0.9")));
  EXPECT_THAT(Validate("name: p\ncriteria: {val_loss_tolerance: -0.1}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.val_loss_tolerance: must be >= 0")));
  EXPECT_THAT(Validate("name: p\ncriteria: {min_rankme: -1}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("criteria.min_rankme")));
  EXPECT_THAT(
      Validate("name: p\ncriteria: {min_isotropy_robust: -1}" + stages),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("criteria.min_isotropy_robust")));
  EXPECT_THAT(Validate("name: p\ncriteria: {min_rankme_fraction_of_early: 1.5}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.min_rankme_fraction_of_early: must be in (0, 1]")));
  EXPECT_THAT(
      Validate("name: p\ncriteria: {min_rankme_fraction_of_reference: 0.5}" + stages),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("criteria.min_rankme_fraction_of_reference: needs reference_run")));
  EXPECT_THAT(Validate("name: p\nreference_run: r1\ncriteria: "
                       "{min_rankme_fraction_of_reference: 0.5}" +
                       stages),
              IsOk());
  EXPECT_THAT(Validate("name: p\ncriteria: {early_window_points: 0}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.early_window_points: must be >= 1")));
  EXPECT_THAT(Validate("name: p\ncriteria: {min_participation_ratio: -1}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.min_participation_ratio: must be >= 0")));
  EXPECT_THAT(Validate("name: p\ncriteria: {encoders: [context, predictor]}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.encoders[1]: must be \"context\" or \"target\"")));
  EXPECT_THAT(Validate("name: p\ncriteria: {warmup_steps: -5}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("criteria.warmup_steps")));
  EXPECT_THAT(Validate("name: p\neffect: {max_knob_keys: 0}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("effect.max_knob_keys")));
  EXPECT_THAT(Validate("name: p\nstop_on_collapse: {enabled: true, confirm_events: 0}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stop_on_collapse.confirm_events: must be >= 1, got 0")));
  EXPECT_THAT(Validate("name: p\nstop_on_collapse: {enabled: true, indicators: [\"\"]}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stop_on_collapse.indicators[0]: must not be empty")));
  EXPECT_THAT(Validate("name: p\neffect: {relative_tolerance: -1}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("effect.relative_tolerance")));
  EXPECT_THAT(Validate("name: p\neffect: {spread_multiplier: -1}" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("effect.spread_multiplier")));
  EXPECT_THAT(Validate("name: p\nreference_run: ghost" + stages),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("reference_run: unknown run \"ghost\"")));
}

TEST_F(PlanValidationTest, UnknownKeyNamesPathAndLine) {
  EXPECT_THAT(
      Validate("name: p\nstages:\n  - name: one\n    runz: []\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stages[0].runz: unknown key")));
  EXPECT_THAT(Validate("name: p\nstages:\n  - name: one\n    runz: []\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plan.yaml:4")));
}

TEST_F(PlanValidationTest, RunConfigCheckFailureNamesTheRun) {
  options_.check_run_config = [](const std::string& path, const std::string&,
                                 const std::vector<std::string>&) {
    return absl::InvalidArgumentError(absl::StrCat("optimizer.lr: must be > 0 (", path, ")"));
  };
  EXPECT_THAT(
      Validate("name: p\nstages: [{name: one, runs: [{name: r1, config: a.yaml}]}]"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("stages[0].runs[0]: run \"r1\" (a.yaml): optimizer.lr: must be > 0")));
}

TEST_F(PlanValidationTest, LoadPlanFileAddsTheLineOfTheBadField) {
  const std::string path = (std::filesystem::path(dir_) / "bad_plan.yaml").string();
  std::ofstream(path) << "name: p\nstages:\n  - name: one\n    runs:\n      - name: r1\n"
                         "        config: missing.yaml\n";
  EXPECT_THAT(LoadPlanFile(path, options_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[0].config: file not found: missing.yaml (" + path +
                                 ":6)")));
  EXPECT_THAT(LoadPlanFile(path + ".nope", options_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("bad_plan.yaml.nope")));
}

TEST(PlanTest, RunConfigPathAndSeeds) {
  PlanRun run;
  run.set_config("configs/training/x.yaml");
  EXPECT_EQ(*RunConfigPath(run, ""), "configs/training/x.yaml");
  EXPECT_EQ(*RunConfigPath(run, "mini"), "configs/training/x_mini.yaml");
  EXPECT_EQ(*RunConfigPath(run, "repro"), "configs/training/x_repro.yaml");
  run.set_mini_config("configs/training/tiny.yaml");
  EXPECT_EQ(*RunConfigPath(run, "mini"), "configs/training/tiny.yaml");
  EXPECT_EQ(*RunConfigPath(run, "repro"), "configs/training/x_repro.yaml");

  PlanConfig plan;
  plan.add_seeds(1);
  plan.add_seeds(2);
  EXPECT_THAT(RunSeeds(plan, run), ElementsAre(1, 2));
  run.add_seeds(7);
  EXPECT_THAT(RunSeeds(plan, run), ElementsAre(7));
}

TEST(PlanTest, SubmissionScaleAcceptsConfigSuffixesAndTheOlderMiniFlag) {
  EXPECT_EQ(*SubmissionScale(false, ""), "");
  EXPECT_EQ(*SubmissionScale(false, "repro"), "repro");
  EXPECT_EQ(*SubmissionScale(true, ""), "mini");
  EXPECT_EQ(*SubmissionScale(true, "mini"), "mini");
  EXPECT_THAT(SubmissionScale(true, "repro"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("scale: \"repro\" contradicts mini: true")));
  EXPECT_THAT(SubmissionScale(false, "../x", "--scale"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--scale: must match [a-z][a-z0-9]*")));
  EXPECT_THAT(SubmissionScale(false, "Repro"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got \"Repro\"")));
}

TEST(PlanTest, ChooseBranchTakesTheFirstMatchElseNext) {
  PlanStage stage;
  stage.set_name("s");
  stage.set_next("fallback");
  PlanBranch* both = stage.add_branches();
  both->add_if_stable("a");
  both->add_if_stable("b");
  both->set_next("both");
  both->set_scenario("AB");
  PlanBranch* a_only = stage.add_branches();
  a_only->add_if_stable("a");
  a_only->add_if_unstable("b");
  a_only->set_next("a_only");

  JEPALAB_ASSERT_OK_AND_ASSIGN(BranchChoice choice,
                               ChooseBranch(stage, {{"a", true}, {"b", true}}));
  EXPECT_EQ(choice.branch_index, 0);
  EXPECT_EQ(choice.next_stage, "both");
  EXPECT_EQ(choice.scenario, "AB");
  JEPALAB_ASSERT_OK_AND_ASSIGN(choice, ChooseBranch(stage, {{"a", true}, {"b", false}}));
  EXPECT_EQ(choice.branch_index, 1);
  EXPECT_EQ(choice.next_stage, "a_only");
  JEPALAB_ASSERT_OK_AND_ASSIGN(choice, ChooseBranch(stage, {{"a", false}, {"b", false}}));
  EXPECT_EQ(choice.branch_index, -1);
  EXPECT_EQ(choice.next_stage, "fallback");
  EXPECT_THAT(ChooseBranch(stage, {{"a", true}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"b\"")));
}

TEST(PlanTest, AnInconclusiveRunTakesNeitherIfStableNorIfUnstable) {
  PlanStage stage;
  stage.set_name("s");
  stage.set_next("fallback");
  PlanBranch* stable = stage.add_branches();
  stable->add_if_stable("a");
  stable->set_next("stable");
  PlanBranch* unstable = stage.add_branches();
  unstable->add_if_unstable("a");
  unstable->set_next("unstable");
  // Seeds that disagree: whatever `stable` holds for it, no branch names it.
  for (bool value : {true, false}) {
    JEPALAB_ASSERT_OK_AND_ASSIGN(BranchChoice choice, ChooseBranch(stage, {{"a", value}}, {"a"}));
    EXPECT_EQ(choice.branch_index, -1);
    EXPECT_EQ(choice.next_stage, "fallback");
  }
}

}  // namespace
}  // namespace jepalab::config
