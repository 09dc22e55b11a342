#include "scheduler_service/core/scheduler.h"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/testing/fake_clock.h"
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
using ::jepalab::scheduler::v1::Experiment;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

constexpr absl::Duration kWait = absl::Seconds(20);
constexpr char kMiniConfig[] = "configs/training/jepa_pretrain_a6000_mini.yaml";

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    data_dir_ = (std::filesystem::path(std::getenv("TEST_TMPDIR")) / info->name()).string();
    std::filesystem::remove_all(data_dir_);
    std::filesystem::create_directories(data_dir_);
    JEPALAB_ASSERT_OK_AND_ASSIGN(config_yaml_, common::ReadFile(kMiniConfig));
    ASSERT_FALSE(config_yaml_.empty()) << kMiniConfig;
    trainer_ = std::make_shared<FakeTrainerClient>("trainer-a:50052", /*capacity=*/1);
  }

  SchedulerOptions Options() const {
    SchedulerOptions options;
    options.data_dir = data_dir_;
    options.trainers = {trainer_};
    // Short intervals keep retries quick; tests still wait on conditions, never on time.
    options.dispatch_backoff = absl::Milliseconds(5);
    options.max_dispatch_backoff = absl::Milliseconds(20);
    options.poll_interval = absl::Milliseconds(5);
    return options;
  }

  // Timers on clock_, which moves only when the test says so. No hang monitor, so the timer
  // loops a test counts with BlockUntilWaiters are the ones it sets up.
  SchedulerOptions FakeClockOptions() {
    SchedulerOptions options = Options();
    options.clock = &clock_;
    options.hang_timeout = absl::ZeroDuration();
    return options;
  }

  // Waits until `count` timer loops sleep on clock_ again: everything the last move of the
  // clock made due has been done.
  void WaitIdle(int count) { ASSERT_TRUE(clock_.BlockUntilWaiters(count, kWait)); }

  void StartScheduler() { StartScheduler(Options()); }
  void StartScheduler(const SchedulerOptions& options) {
    auto scheduler = Scheduler::Create(options);
    ASSERT_THAT(scheduler, IsOk());
    scheduler_ = *std::move(scheduler);
  }

  v1::SubmitExperimentRequest Request(const std::string& name, std::vector<int64_t> seeds) const {
    v1::SubmitExperimentRequest request;
    request.set_name(name);
    request.set_config_yaml(config_yaml_);
    request.set_config_path(kMiniConfig);
    for (int64_t seed : seeds) request.add_seeds(seed);
    return request;
  }

  // Waits (on the scheduler's change notification) until `done` holds for experiment `id`.
  Experiment WaitUntil(const std::string& id, const std::function<bool(const Experiment&)>& done) {
    const absl::Time deadline = absl::Now() + kWait;
    absl::StatusOr<ExperimentSnapshot> snapshot = scheduler_->GetSnapshot(id);
    while (snapshot.ok() && !done(snapshot->experiment) && absl::Now() < deadline) {
      snapshot = scheduler_->WaitForChange(id, snapshot->version, deadline);
    }
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return Experiment();
    EXPECT_TRUE(done(snapshot->experiment))
        << "timed out; last: " << snapshot->experiment.DebugString();
    return snapshot->experiment;
  }

  Experiment WaitForState(const std::string& id, v1::ExperimentState state) {
    return WaitUntil(id, [state](const Experiment& e) { return e.state() == state; });
  }

  Experiment WaitForRunState(const std::string& id, int run, RunState state) {
    return WaitUntil(id, [=](const Experiment& e) { return e.runs(run).state() == state; });
  }

  // Waits until `run_id` is recorded as running and its watch is open.
  void WaitRunning(const std::string& experiment_id, int run, const std::string& run_id) {
    ASSERT_TRUE(trainer_->WaitForStarted(run_id, kWait));
    ASSERT_TRUE(trainer_->WaitForWatchers(run_id, 1, kWait));
    WaitForRunState(experiment_id, run, RunState::RUN_STATE_RUNNING);
  }

  std::string data_dir_;
  std::string config_yaml_;
  std::shared_ptr<FakeTrainerClient> trainer_;
  jepalab::testing::FakeClock clock_;  // outlives scheduler_, whose threads wait on it
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, NamesExperimentsAndRunsStably) {
  trainer_->SetCapacity(0);  // keep everything queued
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment first,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  EXPECT_EQ(first.id(), "mini-0001");
  EXPECT_EQ(first.name(), "mini");
  EXPECT_EQ(first.state(), v1::EXPERIMENT_STATE_QUEUED);
  ASSERT_EQ(first.runs_size(), 2);
  EXPECT_EQ(first.runs(0).run_id(), "mini-0001-s1");
  EXPECT_EQ(first.runs(1).run_id(), "mini-0001-s2");
  EXPECT_EQ(first.runs(1).seed(), 2);
  EXPECT_EQ(first.runs(0).state(), RunState::RUN_STATE_QUEUED);
  EXPECT_TRUE(first.runs(0).trainer().empty());
  EXPECT_EQ(first.config_hash().size(), 64u);
  EXPECT_THAT(first.resolved_config_yaml(), HasSubstr("object_encoder"));
  EXPECT_GT(first.created_unix_ms(), 0);

  // No name: "experiment"; no seeds: the config's seed, after overrides.
  v1::SubmitExperimentRequest request = Request("", {});
  request.add_overrides("seed=7");
  request.add_overrides("optimizer.lr=0.001");
  request.add_tags("baseline");
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment second, scheduler_->SubmitExperiment(request));
  EXPECT_EQ(second.id(), "experiment-0002");
  ASSERT_EQ(second.runs_size(), 1);
  EXPECT_EQ(second.runs(0).run_id(), "experiment-0002-s7");
  EXPECT_THAT(second.overrides(), ElementsAre("seed=7", "optimizer.lr=0.001"));
  EXPECT_THAT(second.tags(), ElementsAre("baseline"));
  EXPECT_NE(second.config_hash(), first.config_hash());

  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment third, scheduler_->SubmitExperiment(Request("", {})));
  EXPECT_EQ(third.runs(0).run_id(), "experiment-0003-s123");  // the mini config's seed
}

TEST_F(SchedulerTest, RejectsInvalidSubmissionsNamingTheFieldAndStoresNothing) {
  trainer_->SetCapacity(0);
  StartScheduler();
  v1::SubmitExperimentRequest bad_key = Request("mini", {1});
  bad_key.set_config_yaml("seed: 1\ntraining:\n  learning_rate: 0.1\n");
  bad_key.set_config_path("");
  EXPECT_THAT(scheduler_->SubmitExperiment(bad_key),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("training.learning_rate: unknown key")));
  EXPECT_THAT(scheduler_->SubmitExperiment(bad_key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("<request>:3")));

  EXPECT_THAT(scheduler_->SubmitExperiment(Request("bad/name", {1})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: must match")));
  EXPECT_THAT(scheduler_->SubmitExperiment(Request(std::string(65, 'a'), {1})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: must be at most 64")));

  v1::SubmitExperimentRequest bad_override = Request("mini", {1});
  bad_override.add_overrides("optimizer.lr=-0.1");
  EXPECT_THAT(scheduler_->SubmitExperiment(bad_override),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("optimizer.lr: must be > 0, got -0.1")));

  v1::SubmitExperimentRequest empty = Request("mini", {1});
  empty.clear_config_yaml();
  EXPECT_THAT(
      scheduler_->SubmitExperiment(empty),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config_yaml: must not be empty")));

  EXPECT_THAT(scheduler_->SubmitExperiment(Request("mini", {3, 3})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seeds: duplicate seed 3")));

  EXPECT_TRUE(scheduler_->ListExperiments({}, "").empty());
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment ok, scheduler_->SubmitExperiment(Request("mini", {1})));
  EXPECT_EQ(ok.id(), "mini-0001");  // failed submissions took no sequence number
}

TEST_F(SchedulerTest, DispatchesRunsWithTheirSeedAndSucceeds) {
  trainer_->SetCapacity(2);
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  WaitRunning(experiment.id(), 1, "mini-0001-s2");
  EXPECT_EQ(trainer_->StartedConfig("mini-0001-s2")->seed(), 2);
  // Exactly the config resolved at submission (the fake, like the trainer, refuses a StartRun
  // whose config does not hash to the hash sent with it).
  EXPECT_EQ(trainer_->StartedConfig("mini-0001-s2")->SerializeAsString(),
            experiment.runs(1).config().SerializeAsString());
  EXPECT_EQ(trainer_->StartedLabels("mini-0001-s2")->at("experiment"), "mini-0001");

  Experiment running = WaitForState(experiment.id(), v1::EXPERIMENT_STATE_RUNNING);
  EXPECT_EQ(running.runs(0).trainer(), "trainer-a:50052");
  EXPECT_EQ(running.runs(0).attempts(), 1);

  trainer_->EmitProgress("mini-0001-s1", 5, 10);
  Experiment progressed = WaitUntil(
      experiment.id(), [](const Experiment& e) { return e.runs(0).progress().step() == 5; });
  EXPECT_EQ(progressed.runs(0).progress().total_steps(), 10);

  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  trainer_->Finish("mini-0001-s2", RunState::RUN_STATE_EARLY_STOPPED, "validation plateaued");
  Experiment done = WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);
  EXPECT_EQ(done.runs(0).state(), RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(done.runs(1).state(), RunState::RUN_STATE_EARLY_STOPPED);
  EXPECT_EQ(done.runs(1).message(), "validation plateaued");
  EXPECT_GE(done.finished_unix_ms(), done.created_unix_ms());
  EXPECT_TRUE(scheduler_->GetSnapshot(experiment.id())->finished);
}

TEST_F(SchedulerTest, DivergedRunFailsTheExperimentOnceAllEnded) {
  trainer_->SetCapacity(2);
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  WaitRunning(experiment.id(), 1, "mini-0001-s2");
  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_DIVERGED, "loss/sigreg is NaN at step 40");
  Experiment partial = WaitForRunState(experiment.id(), 0, RunState::RUN_STATE_DIVERGED);
  EXPECT_EQ(partial.state(), v1::EXPERIMENT_STATE_RUNNING);  // the other run is still going
  trainer_->Finish("mini-0001-s2", RunState::RUN_STATE_SUCCEEDED);
  Experiment done = WaitForState(experiment.id(), v1::EXPERIMENT_STATE_FAILED);
  EXPECT_EQ(done.runs(0).message(), "loss/sigreg is NaN at step 40");
}

TEST_F(SchedulerTest, FullTrainerKeepsRunQueuedUntilASlotFrees) {
  StartScheduler();  // capacity 1
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  // The second run was offered and refused (RESOURCE_EXHAUSTED) at least once.
  ASSERT_TRUE(trainer_->WaitForStartAttempts(2, kWait));
  Experiment waiting = *scheduler_->GetExperiment(experiment.id());
  EXPECT_EQ(waiting.runs(1).state(), RunState::RUN_STATE_QUEUED);
  EXPECT_TRUE(waiting.runs(1).trainer().empty());
  EXPECT_THAT(trainer_->started_run_ids(), ElementsAre("mini-0001-s1"));

  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  WaitRunning(experiment.id(), 1, "mini-0001-s2");
  trainer_->Finish("mini-0001-s2", RunState::RUN_STATE_SUCCEEDED);
  WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);
}

TEST_F(SchedulerTest, DownTrainerIsRetriedWithBackoff) {
  trainer_->SetAvailable(false);
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  ASSERT_TRUE(trainer_->WaitForStartAttempts(2, kWait));
  EXPECT_EQ(scheduler_->GetExperiment(experiment.id())->state(), v1::EXPERIMENT_STATE_QUEUED);
  trainer_->SetAvailable(true);
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
}

TEST_F(SchedulerTest, RoundRobinsOverTrainers) {
  auto second = std::make_shared<FakeTrainerClient>("trainer-b:50052", /*capacity=*/1);
  SchedulerOptions options = Options();
  options.trainers.push_back(second);
  StartScheduler(options);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  ASSERT_TRUE(trainer_->WaitForStarted("mini-0001-s1", kWait));
  ASSERT_TRUE(second->WaitForStarted("mini-0001-s2", kWait));
  Experiment running = WaitUntil(experiment.id(), [](const Experiment& e) {
    return !e.runs(0).trainer().empty() && !e.runs(1).trainer().empty();
  });
  EXPECT_EQ(running.runs(0).trainer(), "trainer-a:50052");
  EXPECT_EQ(running.runs(1).trainer(), "trainer-b:50052");
}

TEST_F(SchedulerTest, CancelsQueuedRunsAtOnce) {
  trainer_->SetCapacity(0);
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment cancelled, scheduler_->CancelExperiment(experiment.id()));
  EXPECT_EQ(cancelled.state(), v1::EXPERIMENT_STATE_CANCELLED);
  EXPECT_EQ(cancelled.runs(0).state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(cancelled.runs(1).message(), "cancelled before dispatch");
  EXPECT_GT(cancelled.finished_unix_ms(), 0);
  EXPECT_TRUE(scheduler_->GetSnapshot(experiment.id())->finished);

  EXPECT_THAT(scheduler_->CancelExperiment(experiment.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already finished")));
  EXPECT_THAT(scheduler_->CancelExperiment("nope-0001"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope-0001")));

  // The cancelled runs never run: a run that was being offered at the moment of the cancel
  // is cancelled on the trainer before the dispatcher moves on (dispatch is sequential).
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment next, scheduler_->SubmitExperiment(Request("next", {1})));
  trainer_->SetCapacity(2);
  ASSERT_TRUE(trainer_->WaitForStarted("next-0002-s1", kWait));
  for (const std::string& run_id : trainer_->started_run_ids()) {
    if (run_id == "next-0002-s1") continue;
    EXPECT_THAT(trainer_->cancel_requests(), Contains(run_id));
  }
  EXPECT_EQ(scheduler_->GetExperiment(experiment.id())->runs(0).state(),
            RunState::RUN_STATE_CANCELLED);
}

TEST_F(SchedulerTest, CancelsRunningRunsOnTheirTrainer) {
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment cancelled, scheduler_->CancelExperiment(experiment.id()));
  EXPECT_EQ(cancelled.state(), v1::EXPERIMENT_STATE_CANCELLED);
  EXPECT_EQ(cancelled.runs(1).state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_THAT(trainer_->cancel_requests(), Contains("mini-0001-s1"));
  // The watcher records the trainer's final state.
  Experiment done = WaitForRunState(experiment.id(), 0, RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(done.runs(0).message(), "cancelled by request");
  EXPECT_EQ(done.state(), v1::EXPERIMENT_STATE_CANCELLED);
}

TEST_F(SchedulerTest, RestartRequeuesQueuedRunsAndReattachesRunningOnes) {
  StartScheduler();  // capacity 1: s1 runs, s2 waits
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  trainer_->EmitProgress("mini-0001-s1", 3, 10);
  WaitUntil(experiment.id(), [](const Experiment& e) { return e.runs(0).progress().step() == 3; });
  scheduler_.reset();  // Shutdown: the trainer keeps running s1
  EXPECT_TRUE(trainer_->cancel_requests().empty());

  StartScheduler();
  Experiment reloaded = *scheduler_->GetExperiment(experiment.id());
  EXPECT_EQ(reloaded.state(), v1::EXPERIMENT_STATE_RUNNING);
  EXPECT_EQ(reloaded.runs(0).trainer(), "trainer-a:50052");
  EXPECT_EQ(reloaded.runs(1).state(), RunState::RUN_STATE_QUEUED);
  ASSERT_TRUE(trainer_->WaitForWatchers("mini-0001-s1", 1, kWait));

  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  WaitRunning(experiment.id(), 1, "mini-0001-s2");
  trainer_->Finish("mini-0001-s2", RunState::RUN_STATE_SUCCEEDED);
  WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);

  // Sequence numbers continue after a restart.
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment next, scheduler_->SubmitExperiment(Request("mini", {1})));
  EXPECT_EQ(next.id(), "mini-0002");
}

TEST_F(SchedulerTest, RunUnknownToItsTrainerAfterRestartIsStartedAgain) {
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  scheduler_.reset();

  trainer_ = std::make_shared<FakeTrainerClient>("trainer-a:50052");  // lost its data dir
  StartScheduler();
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  Experiment retried = *scheduler_->GetExperiment(experiment.id());
  EXPECT_EQ(retried.runs(0).attempts(), 2);
  ASSERT_EQ(retried.runs(0).retry_reasons_size(), 1);
  EXPECT_THAT(
      retried.runs(0).retry_reasons(0),
      HasSubstr("attempt 1 on trainer-a:50052: trainer trainer-a:50052 no longer knows the run"));
  EXPECT_EQ(retried.state(), v1::EXPERIMENT_STATE_RUNNING);
  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);
}

TEST_F(SchedulerTest, BrokenStreamFallsBackToPolling) {
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  trainer_->BreakWatches();
  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  WaitForRunState(experiment.id(), 0, RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(scheduler_->GetExperiment(experiment.id())->runs(0).attempts(), 1);
}

TEST_F(SchedulerTest, ARunLostOnEveryAttemptFailsAfterMaxAttempts) {
  SchedulerOptions options = Options();
  options.max_attempts = 2;
  StartScheduler(options);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  for (int attempt = 1; attempt <= 2; ++attempt) {
    WaitUntil(experiment.id(), [&](const Experiment& e) {
      return e.runs(0).attempts() == attempt && e.runs(0).state() == RunState::RUN_STATE_RUNNING;
    });
    ASSERT_TRUE(trainer_->WaitForWatchers("mini-0001-s1", 1, kWait));
    trainer_->ForgetRun("mini-0001-s1");
  }
  Experiment failed = WaitForState(experiment.id(), v1::EXPERIMENT_STATE_FAILED);
  EXPECT_EQ(failed.runs(0).state(), RunState::RUN_STATE_FAILED);
  EXPECT_THAT(
      failed.runs(0).message(),
      HasSubstr("gave up after 2 attempts; last: trainer trainer-a:50052 no longer knows the run"));
  EXPECT_EQ(failed.runs(0).retry_reasons_size(), 2);
}

TEST_F(SchedulerTest, ARunInterruptedByATrainerRestartResumesOnThatTrainer) {
  auto other = std::make_shared<FakeTrainerClient>("trainer-b:50052");
  SchedulerOptions options = Options();
  options.trainers = {trainer_, other};
  StartScheduler(options);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  trainer_->EmitProgress("mini-0001-s1", 40, 87);
  trainer_->Interrupt("mini-0001-s1");
  WaitUntil(experiment.id(), [](const Experiment& e) { return e.runs(0).attempts() == 2; });
  // Resumed where its checkpoints are, not started afresh on the other trainer.
  EXPECT_EQ(trainer_->resumed_starts("mini-0001-s1"), 1);
  EXPECT_TRUE(other->started_run_ids().empty());
  Experiment resumed = *scheduler_->GetExperiment(experiment.id());
  EXPECT_EQ(resumed.runs(0).trainer(), "trainer-a:50052");
  EXPECT_EQ(resumed.runs(0).resume_trainer(), "trainer-a:50052");
  EXPECT_THAT(resumed.runs(0).retry_reasons(0), HasSubstr("interrupted: trainer_server restarted"));
  ASSERT_TRUE(trainer_->WaitForWatchers("mini-0001-s1", 1, kWait));
  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  Experiment done = WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);
  EXPECT_EQ(done.runs(0).attempts(), 2);
}

TEST_F(SchedulerTest, ARunWhoseTrainerStaysDownIsRetriedOnAnotherTrainer) {
  auto other = std::make_shared<FakeTrainerClient>("trainer-b:50052");
  SchedulerOptions options = FakeClockOptions();
  options.trainers = {trainer_, other};
  options.trainer_lost_timeout = absl::Milliseconds(200);
  StartScheduler(options);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  trainer_->SetAvailable(false);
  WaitIdle(1);  // the watcher saw it down and polls it every poll_interval (5 ms)
  // Down for 1 ms less than the timeout, polled all along: still its run.
  clock_.Advance(absl::Milliseconds(199));
  WaitIdle(1);
  EXPECT_EQ(scheduler_->GetExperiment(experiment.id())->runs(0).trainer(), "trainer-a:50052");
  EXPECT_TRUE(other->started_run_ids().empty());
  // The next poll is past the timeout: the run moves.
  clock_.Advance(absl::Milliseconds(5));
  ASSERT_TRUE(other->WaitForStarted("mini-0001-s1", kWait));
  ASSERT_TRUE(other->WaitForWatchers("mini-0001-s1", 1, kWait));
  Experiment moved = *scheduler_->GetExperiment(experiment.id());
  EXPECT_EQ(moved.runs(0).trainer(), "trainer-b:50052");
  EXPECT_THAT(moved.runs(0).retry_reasons(0),
              HasSubstr("trainer trainer-a:50052 unreachable for 200ms"));
  other->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);
}

TEST_F(SchedulerTest, AHungRunIsCancelledAndRetriedWhileAProgressingOneIsLeftAlone) {
  SchedulerOptions options = FakeClockOptions();
  options.hang_timeout = absl::Milliseconds(300);  // checked every 75 ms
  StartScheduler(options);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  // A new step every 250 ms for 5 s: never a hang. The hang monitor is the one timer loop.
  for (int step = 1; step <= 20; ++step) {
    trainer_->EmitProgress("mini-0001-s1", step, 87);
    WaitUntil(experiment.id(),
              [step](const Experiment& e) { return e.runs(0).progress().step() == step; });
    clock_.Advance(absl::Milliseconds(250));
    WaitIdle(1);
  }
  // Silent until 1 ms before the timeout: still not a hang.
  clock_.Advance(absl::Milliseconds(300 - 250 - 1));
  WaitIdle(1);
  EXPECT_TRUE(trainer_->cancel_requests().empty());
  EXPECT_EQ(scheduler_->GetExperiment(experiment.id())->runs(0).attempts(), 1);
  // Past it (by the monitor's next check): cancelled on the trainer and resumed there.
  clock_.Advance(absl::Milliseconds(75));
  WaitUntil(experiment.id(), [](const Experiment& e) { return e.runs(0).attempts() == 2; });
  EXPECT_THAT(trainer_->cancel_requests(), ElementsAre("mini-0001-s1"));
  EXPECT_EQ(trainer_->resumed_starts("mini-0001-s1"), 1);
  EXPECT_THAT(scheduler_->GetExperiment(experiment.id())->runs(0).retry_reasons(0),
              HasSubstr("no progress for 300ms on trainer-a:50052"));
  ASSERT_TRUE(trainer_->WaitForWatchers("mini-0001-s1", 1, kWait));
  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);
}

TEST_F(SchedulerTest, HigherPriorityRunsGoFirstAndGroupsTakeTurns) {
  trainer_->SetCapacity(0);  // everything waits until the order is set up
  StartScheduler();
  v1::SubmitSweepRequest sweep;
  sweep.set_name("big");
  sweep.set_config_yaml(config_yaml_);
  for (const char* name : {"a", "b", "c"}) {
    auto* variant = sweep.add_variants();
    variant->set_name(name);
    variant->add_overrides("optimizer.lr=0.001");
  }
  sweep.add_seeds(1);
  JEPALAB_ASSERT_OK(scheduler_->SubmitSweep(sweep).status());                       // big.a/b/c
  JEPALAB_ASSERT_OK(scheduler_->SubmitExperiment(Request("small", {1})).status());  // after it
  v1::SubmitExperimentRequest urgent = Request("urgent", {1});
  urgent.set_priority(10);
  JEPALAB_ASSERT_OK(scheduler_->SubmitExperiment(urgent).status());  // last in
  v1::SubmitExperimentRequest bad = Request("bad", {1});
  bad.set_priority(5000);
  EXPECT_THAT(scheduler_->SubmitExperiment(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("priority")));

  // One slot: finish each run as it starts and record the order.
  trainer_->SetCapacity(1);
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(trainer_->WaitForStartedRuns(static_cast<int>(order.size()) + 1, kWait));
    ASSERT_GT(trainer_->started_run_ids().size(), order.size());
    order.push_back(trainer_->started_run_ids().back());
    trainer_->Finish(order.back(), RunState::RUN_STATE_SUCCEEDED);
  }
  // The urgent run first; then the sweep and the experiment submitted after it take turns.
  EXPECT_THAT(order, ElementsAre("urgent-0006-s1", "big.a-0002-s1", "small-0005-s1",
                                 "big.b-0003-s1", "big.c-0004-s1"));
}

TEST_F(SchedulerTest, TrainerCapacityKeepsRunsQueuedEvenIfTheTrainerHasRoom) {
  trainer_->SetCapacity(5);
  SchedulerOptions options = FakeClockOptions();
  options.trainer_capacity["trainer-a:50052"] = 1;
  StartScheduler(options);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1, 2})));
  WaitRunning(experiment.id(), 0, "mini-0001-s1");
  // The second run was refused and waits out the backoff; each step of the clock past the
  // (maximum) backoff makes the dispatcher offer it once more, and it is refused again.
  for (int retry = 0; retry < 5; ++retry) {
    WaitIdle(1);
    EXPECT_THAT(trainer_->started_run_ids(), ElementsAre("mini-0001-s1"));
    EXPECT_EQ(scheduler_->GetExperiment(experiment.id())->runs(1).state(),
              RunState::RUN_STATE_QUEUED);
    clock_.Advance(options.max_dispatch_backoff);
  }
  EXPECT_EQ(trainer_->start_attempts(), 1);  // refused here, never offered to the trainer
  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  WaitRunning(experiment.id(), 1, "mini-0001-s2");

  options.trainer_capacity["trainer-x:1"] = 2;  // not one of the trainers
  scheduler_.reset();
  EXPECT_THAT(Scheduler::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trainer_capacity")));
}

TEST_F(SchedulerTest, SweepExpandsVariantsTimesSeeds) {
  trainer_->SetCapacity(0);
  StartScheduler();
  v1::SubmitSweepRequest request;
  request.set_name("lr");
  request.set_config_yaml(config_yaml_);
  request.add_overrides("training.epochs=2");
  auto* small = request.add_variants();
  small->set_name("small");
  small->add_overrides("optimizer.lr=0.0001");
  auto* big = request.add_variants();
  big->set_name("big");
  big->add_overrides("optimizer.lr=0.001");
  big->add_overrides("training.epochs=4");  // a variant's override wins over the common one
  request.add_seeds(1);
  request.add_seeds(2);

  JEPALAB_ASSERT_OK_AND_ASSIGN(SweepResult sweep, scheduler_->SubmitSweep(request));
  EXPECT_EQ(sweep.sweep_id, "lr-0001");
  ASSERT_EQ(sweep.experiments.size(), 2u);
  EXPECT_EQ(sweep.experiments[0].id(), "lr.small-0002");
  EXPECT_EQ(sweep.experiments[1].id(), "lr.big-0003");
  EXPECT_EQ(sweep.experiments[1].name(), "lr.big");
  EXPECT_EQ(sweep.experiments[1].sweep_id(), "lr-0001");
  EXPECT_THAT(sweep.experiments[1].overrides(),
              ElementsAre("training.epochs=2", "optimizer.lr=0.001", "training.epochs=4"));
  EXPECT_EQ(sweep.experiments[1].runs(1).run_id(), "lr.big-0003-s2");
  EXPECT_THAT(sweep.experiments[1].resolved_config_yaml(), HasSubstr("epochs: 4"));
  EXPECT_NE(sweep.experiments[0].config_hash(), sweep.experiments[1].config_hash());
  EXPECT_EQ(scheduler_->ListExperiments({}, "lr-0001").size(), 2u);
  EXPECT_EQ(scheduler_->ListExperiments({v1::EXPERIMENT_STATE_RUNNING}, "").size(), 0u);
}

TEST_F(SchedulerTest, InvalidSweepVariantStoresNothing) {
  trainer_->SetCapacity(0);
  StartScheduler();
  v1::SubmitSweepRequest request;
  request.set_name("lr");
  request.set_config_yaml(config_yaml_);
  auto* good = request.add_variants();
  good->set_name("good");
  good->add_overrides("optimizer.lr=0.0001");
  auto* bad = request.add_variants();
  bad->set_name("bad");
  bad->add_overrides("optimizer.lr=-1");
  EXPECT_THAT(scheduler_->SubmitSweep(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variants[1] (bad): optimizer.lr: must be > 0")));
  bad->set_name("good");
  EXPECT_THAT(scheduler_->SubmitSweep(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                         HasSubstr("variants[1].name: duplicate")));
  request.clear_variants();
  EXPECT_THAT(scheduler_->SubmitSweep(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                         HasSubstr("variants: must not be empty")));
  EXPECT_TRUE(scheduler_->ListExperiments({}, "").empty());
}

TEST_F(SchedulerTest, GridSweepSubmitsOneExperimentPerPoint) {
  trainer_->SetCapacity(0);
  StartScheduler();
  v1::SubmitSweepRequest request;
  request.set_name("grid");
  request.set_config_yaml(config_yaml_);
  auto* lr = request.add_grid();
  lr->set_key("optimizer.lr");
  lr->add_values("0.0001");
  lr->add_values("0.001");
  auto* epochs = request.add_grid();
  epochs->set_key("training.epochs");
  epochs->add_values("2");
  epochs->add_values("-1");  // invalid: nothing of the sweep may be stored
  EXPECT_THAT(scheduler_->SubmitSweep(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("grid point lr-0.0001_epochs--1: training.epochs")));
  EXPECT_TRUE(scheduler_->ListExperiments({}, "").empty());

  epochs->set_values(1, "3");
  request.add_seeds(4);
  JEPALAB_ASSERT_OK_AND_ASSIGN(SweepResult sweep, scheduler_->SubmitSweep(request));
  ASSERT_EQ(sweep.experiments.size(), 4u);
  EXPECT_EQ(sweep.experiments[0].name(), "grid.lr-0.0001_epochs-2");
  EXPECT_EQ(sweep.experiments[3].name(), "grid.lr-0.001_epochs-3");
  EXPECT_THAT(sweep.experiments[3].overrides(),
              ElementsAre("optimizer.lr=0.001", "training.epochs=3"));
  EXPECT_EQ(sweep.experiments[3].runs(0).run_id(), absl::StrCat(sweep.experiments[3].id(), "-s4"));
}

TEST_F(SchedulerTest, FullQueueIsResourceExhausted) {
  trainer_->SetCapacity(0);
  SchedulerOptions options = Options();
  options.max_queued_runs = 2;
  StartScheduler(options);
  ASSERT_THAT(scheduler_->SubmitExperiment(Request("mini", {1, 2})), IsOk());
  EXPECT_THAT(scheduler_->SubmitExperiment(Request("mini", {3})),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_queued_runs=2")));
}

TEST_F(SchedulerTest, WaitForChangeTimesOutWithTheSameVersion) {
  trainer_->SetCapacity(0);
  StartScheduler();
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  JEPALAB_ASSERT_OK_AND_ASSIGN(ExperimentSnapshot before, scheduler_->GetSnapshot(experiment.id()));
  JEPALAB_ASSERT_OK_AND_ASSIGN(ExperimentSnapshot same,
                               scheduler_->WaitForChange(experiment.id(), before.version,
                                                         absl::Now() + absl::Milliseconds(1)));
  EXPECT_EQ(same.version, before.version);
  EXPECT_FALSE(same.finished);
  ASSERT_THAT(scheduler_->CancelExperiment(experiment.id()), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      ExperimentSnapshot after,
      scheduler_->WaitForChange(experiment.id(), before.version, absl::Now() + kWait));
  EXPECT_GT(after.version, before.version);
  EXPECT_TRUE(after.finished);
  EXPECT_THAT(scheduler_->WaitForChange("nope-0001", 0, absl::Now()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope-0001")));
}

TEST_F(SchedulerTest, CreateRejectsBadOptions) {
  SchedulerOptions options = Options();
  options.trainers.clear();
  EXPECT_THAT(Scheduler::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trainers")));
  options = Options();
  options.max_queued_runs = 0;
  EXPECT_THAT(Scheduler::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_queued_runs")));
  options = Options();
  options.trainers.push_back(std::make_shared<FakeTrainerClient>("trainer-a:50052"));
  EXPECT_THAT(Scheduler::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate address")));
}

// --- stop_on_collapse ------------------------------------------------------------------------

class StopOnCollapseTest : public SchedulerTest {
 protected:
  void SetUp() override {
    SchedulerTest::SetUp();
    metrics_ = std::make_shared<FakeMetricsClient>();
  }

  SchedulerOptions OptionsWithMetrics() const {
    SchedulerOptions options = Options();
    options.metrics = metrics_;
    return options;
  }

  v1::SubmitExperimentRequest PolicyRequest(std::vector<std::string> indicators,
                                            int confirm_events) const {
    v1::SubmitExperimentRequest request = Request("mini", {1});
    v1::StopOnCollapsePolicy* policy = request.mutable_stop_on_collapse();
    policy->set_enabled(true);
    for (const std::string& indicator : indicators) policy->add_indicators(indicator);
    policy->set_confirm_events(confirm_events);
    return request;
  }

  std::shared_ptr<FakeMetricsClient> metrics_;
};

TEST_F(StopOnCollapseTest, ConfirmedCollapseCancelsTheRunAndRecordsWhere) {
  StartScheduler(OptionsWithMetrics());
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(PolicyRequest({}, 1)));
  EXPECT_TRUE(experiment.stop_on_collapse().enabled());
  const std::string run_id = experiment.runs(0).run_id();
  WaitRunning(experiment.id(), 0, run_id);
  ASSERT_TRUE(metrics_->WaitForCollapseWatchers(run_id, 1, kWait));

  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "embedding_rank", "context", 300));

  experiment = WaitForRunState(experiment.id(), 0, RunState::RUN_STATE_CANCELLED);
  const RunRecord& run = experiment.runs(0);
  EXPECT_EQ(run.message(), "stopped: collapsed (embedding_rank/context) at step 300");
  ASSERT_TRUE(run.has_collapse_stop());
  EXPECT_EQ(run.collapse_stop().step(), 300);
  EXPECT_EQ(run.collapse_stop().indicator(), "embedding_rank/context");
  EXPECT_THAT(trainer_->cancel_requests(), ElementsAre(run_id));
  // Ended by a collapse, not by a user's cancel.
  EXPECT_EQ(experiment.state(), v1::EXPERIMENT_STATE_FAILED);

  // Stored: a restarted scheduler reads the same record.
  scheduler_.reset();
  StartScheduler(OptionsWithMetrics());
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment reloaded, scheduler_->GetExperiment(experiment.id()));
  EXPECT_EQ(reloaded.runs(0).collapse_stop().step(), 300);
  EXPECT_EQ(reloaded.runs(0).message(), run.message());
  EXPECT_TRUE(reloaded.stop_on_collapse().enabled());
}

TEST_F(StopOnCollapseTest, TheStopReachesATrainerThatWasDownWhenTheCollapseWasConfirmed) {
  SchedulerOptions options = OptionsWithMetrics();
  options.clock = &clock_;
  options.hang_timeout = absl::ZeroDuration();
  StartScheduler(options);
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(PolicyRequest({}, 1)));
  const std::string run_id = experiment.runs(0).run_id();
  WaitRunning(experiment.id(), 0, run_id);
  ASSERT_TRUE(metrics_->WaitForCollapseWatchers(run_id, 1, kWait));
  trainer_->SetAvailable(false);
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "embedding_rank", "context", 300));
  WaitUntil(experiment.id(), [](const Experiment& e) { return e.runs(0).has_collapse_stop(); });
  // Two timer loops: the cancel retry and the run's watcher, both polling the down trainer.
  for (int retry = 0; retry < 3; ++retry) {
    WaitIdle(2);
    EXPECT_TRUE(trainer_->cancel_requests().empty());
    EXPECT_EQ(scheduler_->GetExperiment(experiment.id())->runs(0).state(),
              RunState::RUN_STATE_RUNNING);
    clock_.Advance(options.poll_interval);
  }

  trainer_->SetAvailable(true);
  clock_.Advance(options.poll_interval);
  experiment = WaitForRunState(experiment.id(), 0, RunState::RUN_STATE_CANCELLED);
  EXPECT_THAT(trainer_->cancel_requests(), ElementsAre(run_id));
  EXPECT_EQ(experiment.runs(0).message(),
            "stopped: collapsed (embedding_rank/context) at step 300");
}

TEST_F(StopOnCollapseTest, WithoutThePolicyCollapseEventsAreIgnored) {
  StartScheduler(OptionsWithMetrics());
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment experiment,
                               scheduler_->SubmitExperiment(Request("mini", {1})));
  const std::string run_id = experiment.runs(0).run_id();
  WaitRunning(experiment.id(), 0, run_id);
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "embedding_rank", "context", 300));
  trainer_->Finish(run_id, RunState::RUN_STATE_SUCCEEDED);

  experiment = WaitForState(experiment.id(), v1::EXPERIMENT_STATE_SUCCEEDED);
  EXPECT_FALSE(experiment.runs(0).has_collapse_stop());
  EXPECT_EQ(metrics_->collapse_watch_calls(), 0);
  EXPECT_THAT(trainer_->cancel_requests(), ElementsAre());
}

TEST_F(StopOnCollapseTest, CountsOnlyTheChosenIndicatorsUntilConfirmed) {
  StartScheduler(OptionsWithMetrics());
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      Experiment experiment,
      scheduler_->SubmitExperiment(PolicyRequest({"codebook_usage", "embedding_rank/target"}, 2)));
  const std::string run_id = experiment.runs(0).run_id();
  WaitRunning(experiment.id(), 0, run_id);
  ASSERT_TRUE(metrics_->WaitForCollapseWatchers(run_id, 1, kWait));

  // Not counted: another indicator, another encoder, a warning, another run, a repeat.
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "embedding_rank", "context", 50));
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "validation_spike", "", 60));
  auto warning = MakeCollapsedEvent(run_id, "codebook_usage", "", 70);
  warning.set_state(::jepalab::metrics::v1::COLLAPSE_STATE_WARNING);
  metrics_->EmitCollapseEvent(warning);
  metrics_->EmitCollapseEvent(MakeCollapsedEvent("other-run", "codebook_usage", "", 80));
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "codebook_usage", "", 100));
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "codebook_usage", "", 100));
  // The watch filters by run id, so the other run's event is never delivered.
  ASSERT_TRUE(metrics_->WaitForDeliveredCollapseEvents(5, kWait));
  EXPECT_THAT(trainer_->cancel_requests(), ElementsAre());
  JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment running, scheduler_->GetExperiment(experiment.id()));
  EXPECT_EQ(running.runs(0).state(), RunState::RUN_STATE_RUNNING);
  EXPECT_FALSE(running.runs(0).has_collapse_stop());

  // The second counted event confirms; the stop names the first.
  metrics_->EmitCollapseEvent(MakeCollapsedEvent(run_id, "embedding_rank", "target", 140));
  experiment = WaitForRunState(experiment.id(), 0, RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(experiment.runs(0).message(), "stopped: collapsed (codebook_usage) at step 100");
  EXPECT_EQ(experiment.runs(0).collapse_stop().step(), 100);
  EXPECT_THAT(trainer_->cancel_requests(), ElementsAre(run_id));
}

TEST_F(StopOnCollapseTest, RejectsABadPolicy) {
  StartScheduler();  // no metrics client
  EXPECT_THAT(
      scheduler_->SubmitExperiment(PolicyRequest({}, 1)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stop_on_collapse.enabled")));
  scheduler_.reset();
  StartScheduler(OptionsWithMetrics());
  EXPECT_THAT(scheduler_->SubmitExperiment(PolicyRequest({}, -1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stop_on_collapse.confirm_events: must be >= 0, got -1")));
  EXPECT_THAT(scheduler_->SubmitExperiment(PolicyRequest({"codebook_usage", ""}, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stop_on_collapse.indicators[1]: must not be empty")));
  EXPECT_THAT(scheduler_->ListExperiments({}, ""), ElementsAre());
}

}  // namespace
}  // namespace jepalab::scheduler
