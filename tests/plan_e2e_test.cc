// A micro plan end to end over the real binaries: `jepalab plan run --watch` through the
// scheduler, trainer and metrics services; the branch taken follows the stage-1 verdict and a
// plan verdict is produced; `jepalab report` writes a page that parses, holds a chart per metric
// with a line per run, and renders in headless Chromium (tests/report_render_check.py).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab {
namespace {

using ::jepalab::testing::MakeTempDir;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceProcess;
using ::testing::HasSubstr;

constexpr char kPlan[] = "tests/testdata/micro_plan.yaml";
constexpr char kRenderCheck[] = "tests/report_render_check.py";
constexpr char kPython[] = "/usr/bin/python3";
constexpr char kChromium[] = "/usr/bin/chromium";

// Runs the jepalab CLI; returns (exit code, stdout + stderr).
std::pair<int, std::string> RunCli(const std::vector<std::string>& args) {
  return jepalab::testing::RunCommand(RunfilePath("cli/jepalab"), args);
}

TEST(PlanEndToEndTest, MicroPlanTakesTheBranchOfItsFirstStageAndGivesAVerdict) {
  const std::string root = MakeTempDir("plan_e2e_");
  // The runfiles tree holds configs/ at its workspace root: the scheduler's --config_root.
  const std::string plan_path = RunfilePath(kPlan);
  const std::string config_root(absl::StripSuffix(plan_path, kPlan));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ServiceProcess> metrics,
      ServiceProcess::Start("metrics", RunfilePath("metrics_service/metrics_server"),
                            {"--data_dir=" + root + "/metrics", "--http_port=0"}));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ServiceProcess> trainer,
      ServiceProcess::Start(
          "trainer", RunfilePath("trainer_service/trainer_server"),
          {"--data_dir=" + root + "/trainer", "--metrics_address=" + metrics->address()}));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ServiceProcess> scheduler,
      ServiceProcess::Start(
          "scheduler", RunfilePath("scheduler_service/scheduler_server"),
          {"--data_dir=" + root + "/scheduler", "--trainers=" + trainer->address(),
           "--metrics_address=" + metrics->address(), "--config_root=" + config_root}));
  const std::string endpoint = "--scheduler=" + scheduler->address();

  // A plan-wide override reaches every run (checkpoints inside epochs: harmless here).
  auto [run_code, run_out] = RunCli({"plan", "run", plan_path, "--set",
                                     "training.checkpoint_every_steps=3", "--watch", endpoint});
  ASSERT_EQ(run_code, 0) << run_out;
  EXPECT_THAT(run_out, HasSubstr("submitted plan micro-0001"));
  EXPECT_THAT(run_out, HasSubstr("plan micro-0001 finished: SUCCEEDED"));

  auto [status_code, status_out] = RunCli({"plan", "status", "micro-0001", endpoint});
  ASSERT_EQ(status_code, 0) << status_out;
  std::cout << status_out;
  // The branch follows the stage-1 verdict of no_vq: its status line ends in the verdict.
  std::string no_vq_line;
  std::string fix_run;  // the stage-2 run the branch selected
  for (absl::string_view line : absl::StrSplit(status_out, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "no_vq "))
      no_vq_line = std::string(line);
  }
  ASSERT_FALSE(no_vq_line.empty()) << status_out;
  EXPECT_THAT(status_out, HasSubstr("overrides (every run): training.checkpoint_every_steps=3"));
  const std::vector<std::string> no_vq_fields =
      absl::StrSplit(absl::StripLeadingAsciiWhitespace(no_vq_line), ' ', absl::SkipEmpty());
  ASSERT_GE(no_vq_fields.size(), 3u) << no_vq_line;
  auto [experiment_code, experiment_out] = RunCli({"status", no_vq_fields[2], endpoint});
  ASSERT_EQ(experiment_code, 0) << experiment_out;
  EXPECT_THAT(
      experiment_out,
      HasSubstr("diagnostics.embedding_metrics.interval=2 training.checkpoint_every_steps=3"));
  if (absl::StrContains(no_vq_line, " stable (")) {
    EXPECT_THAT(status_out, HasSubstr("probe -> fix_a"));
    EXPECT_THAT(status_out, HasSubstr("scenario: A"));
    EXPECT_THAT(status_out, HasSubstr("refresh_off"));
    fix_run = "refresh_off";
  } else {
    EXPECT_THAT(status_out, HasSubstr("probe -> fix_b"));
    EXPECT_THAT(status_out, HasSubstr("scenario: B"));
    EXPECT_THAT(status_out, HasSubstr("infonce_only"));
    fix_run = "infonce_only";
  }

  auto [verdict_code, verdict_out] = RunCli({"plan", "verdict", "micro-0001", endpoint});
  ASSERT_EQ(verdict_code, 0) << verdict_out;
  std::cout << verdict_out;
  EXPECT_THAT(verdict_out, HasSubstr("Scenario"));
  EXPECT_THAT(verdict_out, HasSubstr("| no_vq"));

  // Watching a finished plan prints its end and verdict at once.
  auto [watch_code, watch_out] = RunCli({"plan", "watch", "micro-0001", endpoint});
  EXPECT_EQ(watch_code, 0) << watch_out;
  EXPECT_THAT(watch_out, HasSubstr("plan micro-0001 finished: SUCCEEDED"));
  EXPECT_THAT(watch_out, HasSubstr("| no_vq"));

  auto [list_code, list_out] = RunCli({"plan", "list", endpoint});
  EXPECT_EQ(list_code, 0) << list_out;
  EXPECT_THAT(list_out, HasSubstr("micro-0001"));

  // The report, as a reader sees it.
  ASSERT_EQ(access(kChromium, X_OK), 0) << kChromium
                                        << " is missing: the report render check needs Debian's "
                                           "chromium (tools/setup.sh installs it)";
  const std::string html = root + "/micro.html";
  auto [report_code, report_out] =
      RunCli({"report", "micro-0001", "-o", html, endpoint, "--metrics=" + metrics->address()});
  ASSERT_EQ(report_code, 0) << report_out;
  EXPECT_THAT(report_out, HasSubstr(html));
  const std::string page = jepalab::testing::ReadTextFile(html);
  EXPECT_THAT(page, HasSubstr("<h2>Verdict</h2>"));
  EXPECT_THAT(page, HasSubstr(fix_run));
  // Every run reports losses and embedding diagnostics; only the fix run keeps VQ.
  const std::string both = "no_vq," + fix_run;
  auto [check_code, check_out] = jepalab::testing::RunCommand(
      kPython,
      {RunfilePath(kRenderCheck), html, root + "/micro.png", "--chromium", kChromium, "--timeout",
       "90", "--chart", "Training loss=" + both, "--chart", "Validation loss=" + both, "--chart",
       "Codebook usage=" + fix_run, "--chart", "Effective rank (context encoder)=" + both,
       "--chart", "Isotropy (context encoder)=" + both});
  std::cout << check_out;
  EXPECT_EQ(check_code, 0) << check_out;
  EXPECT_THAT(check_out, HasSubstr("OK 5 charts"));
}

}  // namespace
}  // namespace jepalab
