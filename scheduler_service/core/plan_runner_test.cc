#include "scheduler_service/core/plan_runner.h"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler_service/core/testing/fake_metrics_client.h"
#include "scheduler_service/core/testing/fake_trainer_client.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::scheduler::testing::FakeMetricsClient;
using ::jepalab::scheduler::testing::FakeTrainerClient;
using ::jepalab::scheduler::testing::MakeCollapsedEvent;
using ::jepalab::scheduler::testing::MakeSeries;
using ::jepalab::scheduler::v1::Plan;
using ::jepalab::scheduler::v1::PlanRunStatus;
using ::jepalab::scheduler::v1::PlanState;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::SizeIs;
using ::testing::StatusIs;

constexpr absl::Duration kWait = absl::Seconds(20);

// Stage 1 decides between two one-run fix stages; configs are the shipped mini ones.
constexpr char kPlan[] = R"(
name: micro
seeds: [7]
criteria: {val_loss_tolerance: 0.05, spike_factor: 1.5}
stages:
  - name: ablate
    runs:
      - {name: baseline, config: configs/training/jepa_pretrain_a6000_mini.yaml}
      - {name: no_vq, config: configs/training/jepa_diag_no_vq_mini.yaml}
    branches:
      - {if_stable: [no_vq], scenario: A, conclusion: VQ is the cause, next: fix_a}
      - {if_unstable: [no_vq], scenario: B, conclusion: VQ is not the cause, next: fix_b}
  - name: fix_a
    fixes: true
    runs:
      - name: a1
        config: configs/training/jepa_pretrain_a6000_mini.yaml
        overrides: ["optimizer.lr=0.0001"]
  - name: fix_b
    fixes: true
    runs:
      - name: b1
        config: configs/training/jepa_diag_no_vq_mini.yaml
        overrides: ["optimizer.lr=0.0002"]
)";

class PlanRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    data_dir_ = (std::filesystem::path(std::getenv("TEST_TMPDIR")) / info->name()).string();
    std::filesystem::remove_all(data_dir_);
    std::filesystem::create_directories(data_dir_);
    trainer_ = std::make_shared<FakeTrainerClient>("trainer-a:50052", /*capacity=*/10);
    metrics_ = std::make_shared<FakeMetricsClient>();
    Start();
  }

  void TearDown() override { Stop(); }

  void Start() {
    SchedulerOptions options;
    options.data_dir = data_dir_;
    options.trainers = {trainer_};
    options.dispatch_backoff = absl::Milliseconds(5);
    options.max_dispatch_backoff = absl::Milliseconds(20);
    options.poll_interval = absl::Milliseconds(5);
    options.metrics = metrics_;
    auto scheduler = Scheduler::Create(options);
    ASSERT_THAT(scheduler, IsOk());
    scheduler_ = *std::move(scheduler);
    PlanRunnerOptions runner_options;
    runner_options.data_dir = data_dir_;
    runner_options.scheduler = scheduler_.get();
    runner_options.metrics = metrics_;
    runner_options.poll_interval = absl::Milliseconds(5);
    auto runner = PlanRunner::Create(runner_options);
    ASSERT_THAT(runner, IsOk());
    runner_ = *std::move(runner);
  }

  void Stop() {
    if (runner_) runner_->Shutdown();
    runner_.reset();
    scheduler_.reset();
  }

  Plan Submit(const std::string& yaml = kPlan) {
    v1::SubmitPlanRequest request;
    request.set_plan_yaml(yaml);
    request.set_plan_path("micro.yaml");
    absl::StatusOr<Plan> plan = runner_->SubmitPlan(request);
    EXPECT_THAT(plan, IsOk());
    return plan.ok() ? *plan : Plan();
  }

  // Waits (on the runner's change notification) until `done` holds for plan `id`.
  Plan WaitUntil(const std::string& id, const std::function<bool(const Plan&)>& done) {
    const absl::Time deadline = absl::Now() + kWait;
    absl::StatusOr<PlanSnapshot> snapshot = runner_->WaitForChange(id, 0, deadline);
    while (snapshot.ok() && !done(snapshot->plan) && absl::Now() < deadline) {
      snapshot = runner_->WaitForChange(id, snapshot->version, deadline);
    }
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return Plan();
    EXPECT_TRUE(done(snapshot->plan)) << "timed out; last: " << snapshot->plan.DebugString();
    return snapshot->plan;
  }

  static const PlanRunStatus* Run(const Plan& plan, const std::string& name) {
    for (const PlanRunStatus& run : plan.runs()) {
      if (run.name() == name) return &run;
    }
    return nullptr;
  }

  // Waits until plan run `name` has its experiment, then returns its run ids.
  std::vector<std::string> RunIds(const std::string& plan_id, const std::string& name) {
    const Plan plan = WaitUntil(plan_id, [&](const Plan& p) {
      const PlanRunStatus* run = Run(p, name);
      return run != nullptr && !run->experiment_id().empty();
    });
    const PlanRunStatus* run = Run(plan, name);
    if (run == nullptr) return {};
    return {run->run_ids().begin(), run->run_ids().end()};
  }

  // Gives every seed of plan run `name` a stable (or rising) val/loss and ends it SUCCEEDED.
  void FinishRun(const std::string& plan_id, const std::string& name, bool stable) {
    FinishSeeds(plan_id, name, std::vector<bool>(RunIds(plan_id, name).size(), stable));
  }

  // The same, seed by seed (in run id order): stable[i] for the i-th seed.
  void FinishSeeds(const std::string& plan_id, const std::string& name,
                   const std::vector<bool>& stable_by_seed) {
    const std::vector<std::string> run_ids = RunIds(plan_id, name);
    ASSERT_FALSE(run_ids.empty()) << name;
    ASSERT_EQ(run_ids.size(), stable_by_seed.size()) << name;
    for (size_t i = 0; i < run_ids.size(); ++i) {
      const std::string& run_id = run_ids[i];
      const bool stable = stable_by_seed[i];
      ASSERT_TRUE(trainer_->WaitForStarted(run_id, kWait)) << run_id;
      ASSERT_TRUE(trainer_->WaitForWatchers(run_id, 1, kWait)) << run_id;
      metrics_->SetHistory(
          run_id,
          {MakeSeries(
              "val/loss",
              stable
                  ? std::vector<std::pair<int64_t, double>>{{100, 2.0}, {200, 1.5}, {300, 1.0}}
                  : std::vector<std::pair<int64_t, double>>{{100, 1.0}, {200, 1.8}, {300, 2.5}})});
      trainer_->Finish(run_id, RunState::RUN_STATE_SUCCEEDED);
    }
  }

  std::string data_dir_;
  std::shared_ptr<FakeTrainerClient> trainer_;
  std::shared_ptr<FakeMetricsClient> metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<PlanRunner> runner_;
};

TEST_F(PlanRunnerTest, SubmitsTheFirstStageAsNamedExperiments) {
  const Plan plan = Submit();
  EXPECT_EQ(plan.id(), "micro-0001");
  EXPECT_EQ(plan.state(), PlanState::PLAN_STATE_RUNNING);
  EXPECT_THAT(plan.stages_taken(), ElementsAre("ablate"));
  EXPECT_EQ(plan.current_stage(), "ablate");
  ASSERT_THAT(plan.runs(), SizeIs(2));
  for (const PlanRunStatus& run : plan.runs()) {
    JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Experiment experiment,
                                 scheduler_->GetExperiment(run.experiment_id()));
    EXPECT_EQ(experiment.name(), absl::StrCat("micro-0001.", run.name()));
    ASSERT_THAT(experiment.runs(), SizeIs(1));
    EXPECT_EQ(experiment.runs(0).seed(), 7);
    EXPECT_THAT(run.run_ids(), ElementsAre(experiment.runs(0).run_id()));
  }
  EXPECT_EQ(Submit().id(), "micro-0002");
}

// A scheduler without a checkout: the run configs come with the request, are stored with the
// plan and are what its experiments run.
TEST_F(PlanRunnerTest, RunConfigsSentWithThePlanAreTheOnesRun) {
  v1::SubmitPlanRequest request;
  request.set_plan_yaml(
      "name: remote\nseeds: [7]\nstages:\n  - name: one\n    runs: [{name: r1, config: "
      "x/a.yaml}]\n");
  request.set_plan_path("remote.yaml");
  (*request.mutable_config_files())["x/a.yaml"] = "seed: 1\ntraining:\n  epochs: 3\n";
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan plan, runner_->SubmitPlan(request));
  EXPECT_EQ(plan.config_files().at("x/a.yaml"), request.config_files().at("x/a.yaml"));
  ASSERT_THAT(plan.runs(), SizeIs(1));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Experiment experiment,
                               scheduler_->GetExperiment(plan.runs(0).experiment_id()));
  EXPECT_EQ(experiment.config_yaml(), request.config_files().at("x/a.yaml"));

  request.mutable_config_files()->clear();
  (*request.mutable_config_files())["x/other.yaml"] = "seed: 1\n";
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not among the submitted config files: x/a.yaml")));
}

TEST_F(PlanRunnerTest, AScaleRunsEachConfigsSiblingAndIsStoredWithThePlan) {
  v1::SubmitPlanRequest request;
  request.set_plan_yaml(
      "name: scaled\nseeds: [7]\nstages:\n  - name: one\n    runs: [{name: r1, config: "
      "x/a.yaml}]\n");
  (*request.mutable_config_files())["x/a.yaml"] = "seed: 1\ntraining:\n  epochs: 3\n";
  (*request.mutable_config_files())["x/a_repro.yaml"] = "seed: 1\ntraining:\n  epochs: 4\n";
  request.set_scale("repro");
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan plan, runner_->SubmitPlan(request));
  EXPECT_EQ(plan.scale(), "repro");
  EXPECT_FALSE(plan.mini());
  ASSERT_THAT(plan.runs(), SizeIs(1));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Experiment experiment,
                               scheduler_->GetExperiment(plan.runs(0).experiment_id()));
  EXPECT_EQ(experiment.config_yaml(), request.config_files().at("x/a_repro.yaml"));

  request.set_mini(true);  // contradicts scale "repro"
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contradicts mini")));
}

// The seed's plan runs "VQ without refresh" twice; the second is the first's experiment.
TEST_F(PlanRunnerTest, ARunIdenticalToAnEarlierOneSharesItsExperiment) {
  const std::string id = Submit(R"(
name: twice
seeds: [7]
stages:
  - name: one
    runs:
      - {name: first, config: configs/training/jepa_diag_no_vq_mini.yaml}
    next: two
  - name: two
    runs:
      - {name: again, config: configs/training/jepa_diag_no_vq_mini.yaml}
      - {name: changed, config: configs/training/jepa_diag_no_vq_mini.yaml,
         overrides: ["optimizer.lr=0.0001"]}
      - {name: other_seed, config: configs/training/jepa_diag_no_vq_mini.yaml, seeds: [8]}
)")
                             .id();
  FinishRun(id, "first", /*stable=*/true);
  const Plan plan = WaitUntil(id, [](const Plan& p) {
    const PlanRunStatus* last = Run(p, "other_seed");
    return last != nullptr && !last->experiment_id().empty();
  });
  const PlanRunStatus* first = Run(plan, "first");
  const PlanRunStatus* again = Run(plan, "again");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->experiment_id(), first->experiment_id());
  EXPECT_EQ(again->same_as(), "first");
  EXPECT_THAT(again->run_ids(), ElementsAreArray(first->run_ids()));
  for (const std::string name : {"changed", "other_seed"}) {
    ASSERT_NE(Run(plan, name), nullptr) << name;
    EXPECT_NE(Run(plan, name)->experiment_id(), first->experiment_id()) << name;
    EXPECT_EQ(Run(plan, name)->same_as(), "") << name;
  }
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), SizeIs(3));
}

TEST_F(PlanRunnerTest, StableAblationTakesScenarioA) {
  const std::string id = Submit().id();
  FinishRun(id, "baseline", /*stable=*/false);
  FinishRun(id, "no_vq", /*stable=*/true);
  FinishRun(id, "a1", /*stable=*/true);
  const Plan plan =
      WaitUntil(id, [](const Plan& p) { return p.state() == PlanState::PLAN_STATE_SUCCEEDED; });
  EXPECT_THAT(plan.stages_taken(), ElementsAre("ablate", "fix_a"));
  EXPECT_EQ(plan.scenario(), "A");
  EXPECT_EQ(plan.current_stage(), "");
  EXPECT_THAT(plan.conclusion(), HasSubstr("VQ is the cause"));
  EXPECT_THAT(plan.table(), HasSubstr("a1"));
  EXPECT_EQ(Run(plan, "b1"), nullptr);
  ASSERT_NE(Run(plan, "no_vq"), nullptr);
  EXPECT_TRUE(Run(plan, "no_vq")->stable());
  EXPECT_FALSE(Run(plan, "baseline")->stable());
  EXPECT_TRUE(Run(plan, "baseline")->judged());
  EXPECT_FALSE(Run(plan, "baseline")->verdict().empty());
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), SizeIs(3));
}

TEST_F(PlanRunnerTest, UnstableAblationTakesScenarioB) {
  const std::string id = Submit().id();
  FinishRun(id, "baseline", /*stable=*/false);
  FinishRun(id, "no_vq", /*stable=*/false);
  FinishRun(id, "b1", /*stable=*/true);
  const Plan plan =
      WaitUntil(id, [](const Plan& p) { return p.state() == PlanState::PLAN_STATE_SUCCEEDED; });
  EXPECT_THAT(plan.stages_taken(), ElementsAre("ablate", "fix_b"));
  EXPECT_EQ(plan.scenario(), "B");
  EXPECT_THAT(plan.conclusion(), HasSubstr("VQ is not the cause"));
  EXPECT_EQ(Run(plan, "a1"), nullptr);
}

// Seeds that disagree: no_vq is inconclusive, takes neither branch, and stage 1 has no `next`,
// so the plan ends there and says why.
TEST_F(PlanRunnerTest, AnInconclusiveRunTakesNoBranch) {
  v1::SubmitPlanRequest request;
  request.set_plan_yaml(kPlan);
  request.set_plan_path("micro.yaml");
  request.add_seeds(1);
  request.add_seeds(2);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan submitted, runner_->SubmitPlan(request));
  FinishRun(submitted.id(), "baseline", /*stable=*/false);
  FinishSeeds(submitted.id(), "no_vq", {true, false});
  const Plan plan = WaitUntil(
      submitted.id(), [](const Plan& p) { return p.state() == PlanState::PLAN_STATE_SUCCEEDED; });
  EXPECT_THAT(plan.stages_taken(), ElementsAre("ablate"));
  EXPECT_EQ(plan.scenario(), "");
  ASSERT_NE(Run(plan, "no_vq"), nullptr);
  EXPECT_TRUE(Run(plan, "no_vq")->inconclusive());
  EXPECT_FALSE(Run(plan, "no_vq")->stable());
  EXPECT_THAT(Run(plan, "no_vq")->verdict(), HasSubstr("inconclusive (1 of 2 seeds"));
  EXPECT_FALSE(Run(plan, "baseline")->inconclusive());
  EXPECT_THAT(plan.conclusion(), HasSubstr("no_vq is inconclusive (seeds disagree), so no "
                                           "if_stable/if_unstable branch was taken; the plan "
                                           "ended there"));
  EXPECT_EQ(Run(plan, "a1"), nullptr);
  EXPECT_EQ(Run(plan, "b1"), nullptr);
}

TEST_F(PlanRunnerTest, WaitsForMetricsServiceBeforeJudging) {
  const std::string id = Submit().id();
  metrics_->SetAvailable(false);
  FinishRun(id, "baseline", /*stable=*/true);
  FinishRun(id, "no_vq", /*stable=*/true);
  // Both experiments end, but nothing can be judged while metrics_service is down.
  WaitUntil(id, [](const Plan& p) {
    return p.runs_size() == 2 && p.runs(0).state() == v1::EXPERIMENT_STATE_SUCCEEDED &&
           p.runs(1).state() == v1::EXPERIMENT_STATE_SUCCEEDED;
  });
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan waiting, runner_->GetPlan(id));
  EXPECT_EQ(waiting.current_stage(), "ablate");
  EXPECT_FALSE(waiting.runs(0).judged());
  metrics_->SetAvailable(true);
  const Plan plan = WaitUntil(id, [](const Plan& p) { return p.current_stage() == "fix_a"; });
  EXPECT_EQ(plan.scenario(), "A");
}

TEST_F(PlanRunnerTest, RestartContinuesWithoutResubmitting) {
  const std::string id = Submit().id();
  std::vector<std::string> baseline = RunIds(id, "baseline");
  std::vector<std::string> no_vq = RunIds(id, "no_vq");
  ASSERT_TRUE(trainer_->WaitForStarted(baseline[0], kWait));
  ASSERT_TRUE(trainer_->WaitForStarted(no_vq[0], kWait));

  // Restart with stage 1 running: its experiments are followed again, not submitted again.
  Stop();
  Start();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan reloaded, runner_->GetPlan(id));
  EXPECT_EQ(reloaded.current_stage(), "ablate");
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), SizeIs(2));
  FinishRun(id, "baseline", /*stable=*/true);
  FinishRun(id, "no_vq", /*stable=*/true);
  RunIds(id, "a1");

  // Restart in stage 2: stage 1 is not run or judged again.
  Stop();
  const size_t history_requests = metrics_->history_requests().size();
  Start();
  FinishRun(id, "a1", /*stable=*/true);
  const Plan plan =
      WaitUntil(id, [](const Plan& p) { return p.state() == PlanState::PLAN_STATE_SUCCEEDED; });
  EXPECT_THAT(plan.stages_taken(), ElementsAre("ablate", "fix_a"));
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), SizeIs(3));
  const std::vector<std::string> started = trainer_->started_run_ids();
  EXPECT_THAT(started, SizeIs(3));
  EXPECT_EQ(std::set<std::string>(started.begin(), started.end()).size(), started.size());
  // After the restart, judging a1 fetches the three histories on the path once.
  EXPECT_EQ(metrics_->history_requests().size(), history_requests + 3);
  EXPECT_EQ(Submit().id(), "micro-0002");  // the plan sequence survived the restarts
}

TEST_F(PlanRunnerTest, CancelStopsTheStageAndEndsThePlan) {
  const std::string id = Submit().id();
  const std::vector<std::string> baseline = RunIds(id, "baseline");
  ASSERT_TRUE(trainer_->WaitForStarted(baseline[0], kWait));
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan cancelled, runner_->CancelPlan(id));
  EXPECT_EQ(cancelled.state(), PlanState::PLAN_STATE_CANCELLED);
  for (const PlanRunStatus& run : cancelled.runs()) {
    EXPECT_EQ(run.state(), v1::EXPERIMENT_STATE_CANCELLED) << run.name();
  }
  EXPECT_THAT(trainer_->cancel_requests(), ::testing::Contains(baseline[0]));
  EXPECT_THAT(runner_->CancelPlan(id),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already finished")));
  EXPECT_THAT(runner_->CancelPlan("nope-0001"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope-0001")));
  // Stays cancelled after a restart: nothing more is submitted.
  Stop();
  Start();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan reloaded, runner_->GetPlan(id));
  EXPECT_EQ(reloaded.state(), PlanState::PLAN_STATE_CANCELLED);
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), SizeIs(2));
}

TEST_F(PlanRunnerTest, SeedsOverrideReplacesEveryRunsSeeds) {
  v1::SubmitPlanRequest request;
  request.set_plan_yaml(kPlan);
  request.add_seeds(1);
  request.add_seeds(2);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan plan, runner_->SubmitPlan(request));
  EXPECT_THAT(plan.seeds(), ElementsAre(1, 2));
  for (const PlanRunStatus& run : plan.runs()) EXPECT_THAT(run.run_ids(), SizeIs(2));
}

TEST_F(PlanRunnerTest, PlanOverridesAndSeedsReachEveryRunAlsoAfterARestart) {
  v1::SubmitPlanRequest request;
  request.set_plan_yaml(kPlan);
  request.add_seeds(3);
  request.add_overrides("training.max_steps=5");
  JEPALAB_ASSERT_OK_AND_ASSIGN(Plan plan, runner_->SubmitPlan(request));
  EXPECT_THAT(plan.overrides(), ElementsAre("training.max_steps=5"));
  const std::vector<std::string> baseline = RunIds(plan.id(), "baseline");
  RunIds(plan.id(), "no_vq");
  for (const v1::Experiment& experiment : scheduler_->ListExperiments({}, "")) {
    EXPECT_THAT(experiment.overrides(), ElementsAre("training.max_steps=5")) << experiment.name();
    ASSERT_THAT(experiment.runs(), SizeIs(1));
    EXPECT_EQ(experiment.runs(0).seed(), 3);
  }
  // The scheduler restarts in stage 1; the fix stage it submits afterwards still gets both.
  Stop();
  Start();
  FinishRun(plan.id(), "baseline", /*stable=*/true);
  FinishRun(plan.id(), "no_vq", /*stable=*/true);
  RunIds(plan.id(), "a1");
  bool found = false;
  for (const v1::Experiment& experiment : scheduler_->ListExperiments({}, "")) {
    if (experiment.name() != plan.id() + ".a1") continue;
    found = true;
    EXPECT_THAT(experiment.overrides(), ElementsAre("optimizer.lr=0.0001", "training.max_steps=5"));
    ASSERT_THAT(experiment.runs(), SizeIs(1));
    EXPECT_EQ(experiment.runs(0).seed(), 3);  // not the plan file's 7
  }
  EXPECT_TRUE(found);
}

TEST_F(PlanRunnerTest, ABadPlanOverrideIsRefusedNamingTheKeyAndNothingRuns) {
  v1::SubmitPlanRequest request;
  request.set_plan_yaml(kPlan);
  request.set_plan_path("micro.yaml");
  request.add_overrides("optimizer.lr=-1");
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lr")));
  request.set_overrides(0, "optimizer.no_such_knob=1");
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.no_such_knob")));
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), SizeIs(0));
}

TEST_F(PlanRunnerTest, BadPlansAreInvalidArgumentNamingTheField) {
  v1::SubmitPlanRequest request;
  request.set_plan_path("bad.yaml");
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plan_yaml")));
  request.set_plan_yaml(
      "name: bad\nstages: [{name: one, runs: [{name: r, config: configs/training/none.yaml}]}]");
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stages[0].runs[0].config: file not found")));
  request.set_plan_yaml(
      "name: bad\nstages: [{name: one, runs: [{name: r, config: "
      "configs/training/jepa_diag_no_vq_mini.yaml, overrides: [\"optimizer.lr=-1\"]}]}]");
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lr")));
  request.set_plan_yaml("name: bad\nstagez: []");
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.yaml")));
  // The mini configs of a plan must exist too.
  request.set_plan_yaml(
      "name: bad\nstages: [{name: one, runs: [{name: r, config: "
      "configs/training/jepa_diag_no_vq_mini.yaml}]}]");
  request.set_mini(true);
  EXPECT_THAT(runner_->SubmitPlan(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stages[0].runs[0]")));
  EXPECT_THAT(runner_->ListPlans(), SizeIs(0));
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), SizeIs(0));
}

TEST_F(PlanRunnerTest, RunStoppedOnCollapseIsJudgedCollapsedAtItsStep) {
  std::string yaml = kPlan;
  yaml.insert(yaml.find("stages:"),
              "stop_on_collapse: {enabled: true, indicators: [embedding_rank]}\n");
  const std::string id = Submit(yaml).id();
  const std::vector<std::string> no_vq = RunIds(id, "no_vq");
  ASSERT_THAT(no_vq, SizeIs(1));
  ASSERT_TRUE(trainer_->WaitForWatchers(no_vq[0], 1, kWait));
  ASSERT_TRUE(metrics_->WaitForCollapseWatchers(no_vq[0], 1, kWait));
  metrics_->SetHistory(no_vq[0], {MakeSeries("val/loss", {{100, 2.0}, {200, 1.5}})});
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(no_vq[0], "embedding_rank", "target", 250));
  FinishRun(id, "baseline", /*stable=*/true);
  FinishRun(id, "b1", /*stable=*/true);

  const Plan plan =
      WaitUntil(id, [](const Plan& p) { return p.state() == PlanState::PLAN_STATE_SUCCEEDED; });
  EXPECT_EQ(plan.scenario(), "B");
  const PlanRunStatus* run = Run(plan, "no_vq");
  ASSERT_NE(run, nullptr);
  EXPECT_FALSE(run->stable());
  EXPECT_THAT(run->verdict(), HasSubstr("collapsed at step 250"));
  EXPECT_THAT(run->verdict(), ::testing::Not(HasSubstr("failed")));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Experiment experiment,
                               scheduler_->GetExperiment(run->experiment_id()));
  EXPECT_EQ(experiment.runs(0).state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(experiment.runs(0).collapse_stop().step(), 250);
  EXPECT_THAT(experiment.stop_on_collapse().indicators(), ElementsAre("embedding_rank"));
  EXPECT_EQ(experiment.stop_on_collapse().confirm_events(), 1);
}

}  // namespace
}  // namespace jepalab::scheduler
