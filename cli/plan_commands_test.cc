// The plans area (plan run|watch|status|verdict|list|cancel) and `report` in process, through
// RunJepalab against fake services.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/fake_services.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;

sched::Plan MakePlan(sched::PlanState state) {
  sched::Plan plan;
  plan.set_id("vq-0001");
  plan.set_name("vq");
  plan.set_state(state);
  plan.set_mini(true);
  plan.add_stages_taken("baseline");
  if (state == sched::PLAN_STATE_RUNNING) plan.set_current_stage("baseline");
  sched::PlanRunStatus* run = plan.add_runs();
  run->set_name("base");
  run->set_stage("baseline");
  run->set_experiment_id("vq.base-0001");
  run->add_run_ids("vq.base-0001-s1");
  if (state == sched::PLAN_STATE_SUCCEEDED) {
    run->set_state(sched::EXPERIMENT_STATE_SUCCEEDED);
    run->set_judged(true);
    run->set_verdict("stable");
    plan.set_conclusion("The baseline is stable.");
    plan.set_table("| run | verdict |\n| base | stable |");
  } else {
    run->set_state(sched::EXPERIMENT_STATE_RUNNING);
  }
  return plan;
}

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

class PlanCommandsTest : public ::testing::Test {
 protected:
  PlanCommandsTest() : server_({&scheduler_, &metrics_}) {
    scheduler_.plan = MakePlan(sched::PLAN_STATE_RUNNING);
  }

  CliResult Run(const std::vector<std::string>& args) { return RunCli(args, server_.address()); }

  FakeScheduler scheduler_;
  FakeMetrics metrics_;
  LocalServer server_;
};

TEST_F(PlanCommandsTest, RunSendsThePlanFileAndItsFlags) {
  const std::string path = TempPath("plan.yaml");
  std::ofstream(path) << "name: vq\n";
  const CliResult r = Run({"plan", "run", path, "--mini", "--set", "data.source=synthetic",
                           "--seed", "7", "--priority=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "submitted plan vq-0001 (stage baseline: 1 experiment)\n");
  const sched::SubmitPlanRequest sent = scheduler_.submitted_plan();
  EXPECT_EQ(sent.plan_yaml(), "name: vq\n");
  EXPECT_EQ(sent.plan_path(), path);
  EXPECT_TRUE(sent.mini());
  EXPECT_THAT(sent.overrides(), ElementsAre("data.source=synthetic"));
  EXPECT_THAT(sent.seeds(), ElementsAre(7));
  EXPECT_EQ(sent.priority(), 3);
  const CliResult missing = Run({"plan", "run", "/nonexistent.yaml"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "jepalab: cannot read plan file /nonexistent.yaml\n");
}

// The run configs travel with the plan (read relative to the working directory), so the
// scheduler needs no checkout; a config that cannot be read stops the submission here.
TEST_F(PlanCommandsTest, RunSendsEveryRunConfigThePlanUses) {
  const std::filesystem::path dir = TempPath("plan_files");
  std::filesystem::create_directories(dir / "training");
  std::ofstream(dir / "training/a_mini.yaml") << "seed: 1\n";
  std::ofstream(dir / "training/b.yaml") << "seed: 2\n";
  std::ofstream(dir / "plan.yaml") << "name: vq\nstages:\n  - name: one\n    runs:\n"
                                      "      - {name: r1, config: training/a.yaml}\n"
                                      "      - {name: r2, config: training/b.yaml, mini_config: "
                                      "training/b.yaml}\n";
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  const CliResult r = Run({"plan", "run", "plan.yaml", "--mini"});
  const CliResult full = Run({"plan", "run", "plan.yaml"});
  std::filesystem::current_path(before);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(scheduler_.submitted_plan().config_files(),
              ::testing::UnorderedElementsAre(::testing::Pair("training/a_mini.yaml", "seed: 1\n"),
                                              ::testing::Pair("training/b.yaml", "seed: 2\n")));
  EXPECT_EQ(full.code, 1);
  EXPECT_EQ(full.err,
            "jepalab: plan.yaml: stages[0].runs[0].config: file not found: training/a.yaml\n");
}

TEST_F(PlanCommandsTest, ScaleSendsEachConfigsSiblingAndIsCheckedHere) {
  const std::filesystem::path dir = TempPath("plan_scale");
  std::filesystem::create_directories(dir / "training");
  std::ofstream(dir / "training/a_repro.yaml") << "seed: 3\n";
  std::ofstream(dir / "plan.yaml") << "name: vq\nstages:\n  - name: one\n    runs:\n"
                                      "      - {name: r1, config: training/a.yaml}\n";
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  const CliResult r = Run({"plan", "run", "plan.yaml", "--scale", "repro"});
  const CliResult contradicting = Run({"plan", "run", "plan.yaml", "--scale=repro", "--mini"});
  std::filesystem::current_path(before);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(scheduler_.submitted_plan().scale(), "repro");
  EXPECT_FALSE(scheduler_.submitted_plan().mini());
  EXPECT_THAT(
      scheduler_.submitted_plan().config_files(),
      ::testing::UnorderedElementsAre(::testing::Pair("training/a_repro.yaml", "seed: 3\n")));
  EXPECT_EQ(contradicting.code, 1);
  EXPECT_THAT(contradicting.err, HasSubstr("--scale: \"repro\" contradicts mini: true"));
}

TEST_F(PlanCommandsTest, WatchOfAFinishedPlanPrintsItsVerdict) {
  scheduler_.plan = MakePlan(sched::PLAN_STATE_SUCCEEDED);
  const CliResult r = Run({"plan", "watch", "vq-0001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(
      r.out, StartsWith("[0:00] stage baseline\n[0:00]   base  vq.base-0001  SUCCEEDED  stable\n"));
  EXPECT_THAT(
      r.out,
      HasSubstr("plan vq-0001 finished: SUCCEEDED\n\nThe baseline is stable.\n\n| run | verdict |\n"
                "| base | stable |\n"));
  scheduler_.plan.set_state(sched::PLAN_STATE_FAILED);
  scheduler_.plan.set_message("stage baseline: refused");
  const CliResult failed = Run({"plan", "watch", "vq-0001"});
  EXPECT_EQ(failed.code, 1);
  EXPECT_THAT(failed.out, HasSubstr("plan vq-0001 finished: FAILED\nstage baseline: refused\n"));
}

// While a plan's run trains, its progress lines carry the run's latest loss from metrics_service.
TEST_F(PlanCommandsTest, WatchShowsATrainingRunsProgressWithItsLossFromMetricsService) {
  sched::Plan finished = MakePlan(sched::PLAN_STATE_SUCCEEDED);
  scheduler_.plan_polls = {scheduler_.plan, finished};
  scheduler_.experiment.set_id("vq.base-0001");
  sched::RunRecord* run = scheduler_.experiment.add_runs();
  run->set_run_id("vq.base-0001-s1");
  run->set_state(common::v1::RUN_STATE_RUNNING);
  run->set_attempts(1);
  run->mutable_progress()->set_step(5);
  run->mutable_progress()->set_total_steps(20);
  met::RunComparison* compared = metrics_.comparison.add_runs();
  compared->mutable_run()->set_run_id("vq.base-0001-s1");
  met::MetricSummary* loss = compared->add_metrics();
  loss->set_name("loss/total");
  loss->set_count(6);
  loss->set_last(2.25);
  const CliResult r = Run({"plan", "watch", "vq-0001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("vq.base-0001-s1 +RUNNING +step 5/20 .*loss 2.2500"));
  EXPECT_THAT(r.out, HasSubstr("plan vq-0001 finished: SUCCEEDED\n"));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(PlanCommandsTest, StatusAndVerdict) {
  const CliResult status = Run({"plan", "status", "vq-0001"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(
      status.out,
      StartsWith("plan vq-0001  RUNNING  (mini)\n  stages: baseline  (current: baseline)\n"));
  EXPECT_THAT(status.out, ::testing::ContainsRegex("  base +baseline +vq.base-0001 +RUNNING +-\n"));
  const CliResult early = Run({"plan", "verdict", "vq-0001"});
  EXPECT_EQ(early.code, 1);
  EXPECT_EQ(early.err, "jepalab: plan vq-0001 has no verdict yet (RUNNING, stage baseline)\n");
  scheduler_.plan = MakePlan(sched::PLAN_STATE_SUCCEEDED);
  const CliResult verdict = Run({"plan", "verdict", "vq-0001"});
  ASSERT_EQ(verdict.code, 0) << verdict.err;
  EXPECT_EQ(verdict.out, "The baseline is stable.\n\n| run | verdict |\n| base | stable |\n");
  const CliResult unknown = Run({"plan", "status", "nope-0001"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("scheduler GetPlan"));
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(PlanCommandsTest, ListAndCancel) {
  scheduler_.plans = {scheduler_.plan};
  const CliResult list = Run({"plan", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, StartsWith("PLAN "));
  EXPECT_THAT(list.out, ::testing::ContainsRegex("vq-0001 +RUNNING +- +baseline +baseline\n"));
  const CliResult cancel = Run({"plan", "cancel", "vq-0001"});
  ASSERT_EQ(cancel.code, 0) << cancel.err;
  EXPECT_EQ(cancel.out, "cancelled plan vq-0001\n");
  EXPECT_THAT(scheduler_.calls(), ElementsAre("ListPlans", "CancelPlan vq-0001"));
}

TEST_F(PlanCommandsTest, ReportOfAPlanChartsItsRunsAndWritesTheFile) {
  scheduler_.plan = MakePlan(sched::PLAN_STATE_SUCCEEDED);
  const std::string path = TempPath("vq.html");
  const CliResult r = Run({"report", "vq-0001", "-o", path, "--max_points", "50"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, path + "\n");
  std::stringstream html;
  html << std::ifstream(path).rdbuf();
  EXPECT_THAT(html.str(), HasSubstr("jepa-lab plan vq-0001"));
  EXPECT_THAT(html.str(), HasSubstr("The baseline is stable."));
  EXPECT_THAT(metrics_.calls(),
              ElementsAre("GetRunHistory vq.base-0001-s1", "GetCollapseStatus vq.base-0001-s1"));
  EXPECT_EQ(metrics_.history_request().max_points(), 50);
}

TEST_F(PlanCommandsTest, ReportFallsBackToAnExperimentThenASweep) {
  scheduler_.experiment.set_id("mini-0001");
  scheduler_.experiment.add_runs()->set_run_id("mini-0001-s1");
  const std::string path = TempPath("mini.html");
  const CliResult experiment = Run({"report", "mini-0001", "--output=" + path});
  ASSERT_EQ(experiment.code, 0) << experiment.err;
  EXPECT_THAT(scheduler_.calls(), ElementsAre("GetPlan mini-0001", "GetExperiment mini-0001"));

  sched::Experiment member;
  member.set_id("sw.a-0001");
  member.set_sweep_id("sw-0001");
  member.add_runs()->set_run_id("sw.a-0001-s1");
  scheduler_.experiments = {member};
  const CliResult sweep = Run({"report", "sw-0001", "-o", TempPath("sw.html")});
  ASSERT_EQ(sweep.code, 0) << sweep.err;
  EXPECT_THAT(metrics_.calls(), ::testing::Contains("GetRunHistory sw.a-0001-s1"));

  const CliResult none = Run({"report", "nothing-0001", "-o", TempPath("none.html")});
  EXPECT_EQ(none.code, 1);
  EXPECT_EQ(none.err, "jepalab: report: no plan, experiment or sweep with id \"nothing-0001\"\n");
  EXPECT_EQ(Run({"report", "vq-0001", "--max_points", "-5"}).code, 2);
}

}  // namespace
}  // namespace jepalab::cli
