#include "config/plan_submission.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::Pair;
using ::testing::StatusIs;
using ::testing::UnorderedElementsAre;

constexpr char kPlan[] = R"(
name: p
stages:
  - name: one
    runs:
      - {name: r1, config: runs/a.yaml}
      - {name: r2, config: runs/a.yaml, overrides: [optimizer.lr=1e-4]}
    next: two
  - name: two
    runs: [{name: r3, config: runs/b.yaml}]
)";

PlanSubmission Submission() {
  PlanSubmission submission;
  submission.plan_yaml = kPlan;
  submission.source = "plan.yaml";
  return submission;
}

TEST(PlanSubmissionTest, SubmittedFilesAreUsedAndKeptOncePerPath) {
  PlanSubmission submission = Submission();
  submission.config_files["runs/a.yaml"] = "seed: 1\n";
  submission.config_files["runs/b.yaml"] = "seed: 2\n";
  submission.config_root = "/nonexistent";  // never read: the files came with the submission
  JEPALAB_ASSERT_OK_AND_ASSIGN(ResolvedPlan resolved, ResolvePlanSubmission(submission));
  EXPECT_EQ(resolved.config.name(), "p");
  EXPECT_THAT(resolved.config_files, UnorderedElementsAre(Pair("runs/a.yaml", "seed: 1\n"),
                                                          Pair("runs/b.yaml", "seed: 2\n")));
}

TEST(PlanSubmissionTest, AFileMissingFromTheSubmissionNamesTheRunField) {
  PlanSubmission submission = Submission();
  submission.config_files["runs/a.yaml"] = "seed: 1\n";
  EXPECT_THAT(ResolvePlanSubmission(submission),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("plan.yaml: stages[1].runs[0].config: not among the submitted "
                                 "config files: runs/b.yaml")));
}

TEST(PlanSubmissionTest, WithoutFilesTheConfigRootIsRead) {
  const std::filesystem::path root =
      std::filesystem::path(std::getenv("TEST_TMPDIR")) / "plan_submission_root";
  std::filesystem::create_directories(root / "runs");
  std::ofstream(root / "runs/a.yaml") << "seed: 3\n";
  std::ofstream(root / "runs/b.yaml") << "seed: 4\n";
  PlanSubmission submission = Submission();
  submission.config_root = root.string();
  JEPALAB_ASSERT_OK_AND_ASSIGN(ResolvedPlan resolved, ResolvePlanSubmission(submission));
  EXPECT_THAT(resolved.config_files, UnorderedElementsAre(Pair("runs/a.yaml", "seed: 3\n"),
                                                          Pair("runs/b.yaml", "seed: 4\n")));

  submission.config_root = (root / "elsewhere").string();
  EXPECT_THAT(ResolvePlanSubmission(submission),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[0].config: file not found: runs/a.yaml")));
}

TEST(PlanSubmissionTest, ABadRunConfigNamesTheRunAndTheKey) {
  PlanSubmission submission = Submission();
  submission.config_files["runs/a.yaml"] = "seed: 1\n";
  submission.config_files["runs/b.yaml"] = "seed: 1\noptimizer:\n  lr: -0.1\n";
  EXPECT_THAT(ResolvePlanSubmission(submission),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("run \"r3\" (runs/b.yaml)"), HasSubstr("optimizer.lr"))));
}

TEST(PlanSubmissionTest, SubmissionOverridesAndSeedsReachEveryRunAndAreChecked) {
  PlanSubmission submission = Submission();
  submission.config_files["runs/a.yaml"] = "seed: 1\n";
  submission.config_files["runs/b.yaml"] = "seed: 1\n";
  submission.seeds.Add(7);
  submission.overrides.Add("training.epochs=2");
  JEPALAB_ASSERT_OK_AND_ASSIGN(ResolvedPlan resolved, ResolvePlanSubmission(submission));
  for (const PlanStage& stage : resolved.config.stages()) {
    for (const PlanRun& run : stage.runs()) {
      EXPECT_EQ(run.overrides(run.overrides_size() - 1), "training.epochs=2") << run.name();
      EXPECT_THAT(RunSeeds(resolved.config, run), ::testing::ElementsAre(7)) << run.name();
    }
  }
  submission.overrides.Add("optimizer.lr=-1");
  EXPECT_THAT(ResolvePlanSubmission(submission),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lr")));
}

TEST(PlanSubmissionTest, ACriterionThatCannotFailAtARunsDimensionIsRefused) {
  PlanSubmission submission = Submission();
  submission.config_files["runs/a.yaml"] = "seed: 1\n";  // projection_dim 256 (the default)
  submission.config_files["runs/b.yaml"] =
      "seed: 2\nloss: {projection_dim: 32}\n"
      "model: {projection_dim: 32}\n";
  submission.plan_yaml = std::string(kPlan) + "criteria: {min_isotropy_robust: 0.001}\n";
  EXPECT_THAT(ResolvePlanSubmission(submission),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("plan.yaml: criteria.min_isotropy_robust: 0.001 cannot fail: "
                                 "isotropy_robust >= 1/d = 0.003906 for run \"r1\" "
                                 "(projection_dim 256)")));
  // Attainable at 256 but not at the 32 dimensions of r3.
  submission.plan_yaml = std::string(kPlan) + "criteria: {min_isotropy_robust: 0.01}\n";
  EXPECT_THAT(ResolvePlanSubmission(submission),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("1/d = 0.03125 for run \"r3\" (projection_dim 32)")));
  submission.plan_yaml = std::string(kPlan) + "criteria: {min_rankme: 64}\n";
  EXPECT_THAT(ResolvePlanSubmission(submission),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.min_rankme: 64 cannot pass: rankme <= d = 32 for run "
                                 "\"r3\"")));
  submission.plan_yaml = std::string(kPlan) + "criteria: {min_rankme: 2}\n";
  EXPECT_THAT(ResolvePlanSubmission(submission), IsOk());
}

TEST(PlanSubmissionTest, EmptyPlanIsRefused) {
  EXPECT_THAT(
      ResolvePlanSubmission(PlanSubmission{}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plan_yaml: must not be empty")));
}

}  // namespace
}  // namespace jepalab::config
