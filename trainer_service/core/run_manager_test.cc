#include "trainer_service/core/run_manager.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/fake_clock.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "config/trainer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "trainer_service/core/testing/fake_worker_launcher.h"

namespace jepalab::trainer {

using ::jepalab::config::ConfigHash;
using ::jepalab::config::LoadTrainerConfig;
namespace {

using common::v1::RunState;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

// A run that takes a fraction of a second in the worker.
constexpr char kTinyConfig[] = R"(
seed: 1
data:
  context_window: 2
  generator: {num_atomic: 48, num_sequential: 32, min_grid_size: 3, max_grid_size: 5,
              min_colors: 3, max_colors: 4}
  validation: {split: 0.2}
object_encoder: {hidden_dim: 8}
training:
  batch_size: 16
  epochs: 2
  num_threads: 1
  lr_scheduler: {warmup_steps: 2}
loss: {queue_size: 16, projection_dim: 8}
)";

StartRunRequest Request(const std::string& run_id, const std::vector<std::string>& overrides = {}) {
  StartRunRequest request;
  request.set_run_id(run_id);
  request.set_experiment("exp");
  (*request.mutable_labels())["k"] = "v";
  auto config = LoadTrainerConfig(kTinyConfig, "tiny.yaml", overrides);
  EXPECT_TRUE(config.ok()) << config.status();
  *request.mutable_config() = *config;
  return request;
}

class RunManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = jepalab::testing::MakeTempDir("runs_");
    options_.data_dir = data_dir_;
    options_.worker_binary = jepalab::testing::RunfilePath("trainer_service/trainer_worker");
    options_.max_concurrent_runs = 2;
    options_.cancel_grace = absl::Seconds(5);
    auto manager = RunManager::Create(options_);
    ASSERT_THAT(manager, IsOk());
    manager_ = std::move(*manager);
  }

  v1::Run Wait(const std::string& run_id) {
    auto run = manager_->WaitForRun(run_id, absl::Seconds(60));
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : v1::Run();
  }

  std::string data_dir_;
  jepalab::testing::FakeClock clock_;  // outlives manager_
  RunManagerOptions options_;
  std::unique_ptr<RunManager> manager_;
};

TEST_F(RunManagerTest, TinyRunSucceedsWithMetricsEvents) {
  auto subscription = [&] {
    auto started = manager_->StartRun(Request("ok-1"));
    EXPECT_THAT(started, IsOk());
    EXPECT_EQ(started->state(), RunState::RUN_STATE_QUEUED);
    EXPECT_EQ(started->config_hash(), ConfigHash(Request("ok-1").config()));
    EXPECT_GT(started->created_unix_ms(), 0);
    return std::move(*manager_->Subscribe("ok-1", /*include_metrics=*/true));
  }();
  std::vector<RunState> states;
  int metrics_events = 0, progress_events = 0;
  std::map<std::string, double> streamed;  // latest streamed value of each metric
  int64_t last_sequence = 0;
  RunEvent event;
  RunSubscription::Result result;
  while ((result = subscription->Next(&event, absl::Seconds(60))) ==
         RunSubscription::Result::kEvent) {
    EXPECT_EQ(event.run_id(), "ok-1");
    EXPECT_GE(event.sequence(), last_sequence);
    last_sequence = event.sequence();
    if (event.has_state_change()) states.push_back(event.state_change().state());
    metrics_events += event.has_metrics();
    progress_events += event.has_progress();
    for (const auto& value : event.metrics().values()) streamed[value.name()] = value.value();
  }
  EXPECT_EQ(result, RunSubscription::Result::kEnd);
  ASSERT_GE(states.size(), 2u);
  EXPECT_EQ(states.back(), RunState::RUN_STATE_SUCCEEDED);
  EXPECT_THAT(states, ::testing::Contains(RunState::RUN_STATE_RUNNING));
  // 64 train tasks / 16 = 4 steps per epoch, 2 epochs: 8 step batches + 2 epoch batches + the
  // final (partial-window) diagnostics batch.
  EXPECT_EQ(metrics_events, 11);
  // The worker writes its checkpoints under <run_dir>/checkpoints.
  EXPECT_TRUE(std::ifstream(data_dir_ + "/runs/ok-1/checkpoints/checkpoint_latest.pt").good());
  EXPECT_TRUE(std::ifstream(data_dir_ + "/runs/ok-1/checkpoints/checkpoint_epoch_0002.pt").good());
  EXPECT_GE(progress_events, 8);

  const v1::Run run = Wait("ok-1");
  EXPECT_EQ(run.state(), RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(run.device(), "cpu");
  EXPECT_EQ(run.progress().step(), 8);
  EXPECT_EQ(run.progress().total_steps(), 8);
  EXPECT_EQ(run.progress().epoch(), 2);
  EXPECT_EQ(run.labels().at("k"), "v");
  EXPECT_GT(run.finished_unix_ms(), 0);
  EXPECT_GE(run.finished_unix_ms(), run.started_unix_ms());
  // The batches reach include_metrics subscribers only; Run keeps no metrics (metrics_service
  // does).
  EXPECT_EQ(streamed.count("loss/total"), 1u);
  EXPECT_EQ(streamed.at("epoch"), 2);

  // A subscriber of a finished run gets the final state and the end.
  auto late = manager_->Subscribe("ok-1", false);
  ASSERT_THAT(late, IsOk());
  ASSERT_EQ((*late)->Next(&event, absl::Seconds(1)), RunSubscription::Result::kEvent);
  EXPECT_EQ(event.state_change().state(), RunState::RUN_STATE_SUCCEEDED);
  ASSERT_EQ((*late)->Next(&event, absl::Seconds(1)), RunSubscription::Result::kEvent);  // progress
  EXPECT_EQ((*late)->Next(&event, absl::Seconds(1)), RunSubscription::Result::kEnd);

  std::ifstream spec(data_dir_ + "/runs/ok-1/spec.pb");
  EXPECT_TRUE(spec.good());
}

TEST_F(RunManagerTest, CrashingWorkersFailWithTheSignalNamedAndTheManagerKeepsWorking) {
  ASSERT_THAT(
      manager_->StartRun(Request("segv", {"debug.fault=segfault", "debug.fault_at_step=2"})),
      IsOk());
  ASSERT_THAT(manager_->StartRun(Request("abrt", {"debug.fault=abort", "debug.fault_at_step=1"})),
              IsOk());
  const v1::Run segv = Wait("segv");
  EXPECT_EQ(segv.state(), RunState::RUN_STATE_FAILED);
  EXPECT_EQ(segv.message(), "worker killed by signal 11 (Segmentation fault)");
  const v1::Run abrt = Wait("abrt");
  EXPECT_EQ(abrt.state(), RunState::RUN_STATE_FAILED);
  EXPECT_EQ(abrt.message(), "worker killed by signal 6 (Aborted)");

  // The manager is unharmed: another run still succeeds.
  ASSERT_THAT(manager_->StartRun(Request("after")), IsOk());
  EXPECT_EQ(Wait("after").state(), RunState::RUN_STATE_SUCCEEDED);
}

TEST_F(RunManagerTest, TorchErrorAndNanFaults) {
  ASSERT_THAT(
      manager_->StartRun(Request("torch", {"debug.fault=torch_error", "debug.fault_at_step=1"})),
      IsOk());
  ASSERT_THAT(manager_->StartRun(Request("nan", {"debug.fault=nan", "debug.fault_at_step=3"})),
              IsOk());
  const v1::Run torch = Wait("torch");
  EXPECT_EQ(torch.state(), RunState::RUN_STATE_FAILED);
  EXPECT_THAT(torch.message(), HasSubstr("debug.fault=torch_error at step 1"));
  const v1::Run nan = Wait("nan");
  EXPECT_EQ(nan.state(), RunState::RUN_STATE_DIVERGED);
  EXPECT_THAT(nan.message(), HasSubstr("loss/info_nce is nan at step 3"));
}

TEST_F(RunManagerTest, CancelEndsCancelled) {
  // Many epochs: the run is still going when the cancel arrives.
  ASSERT_THAT(manager_->StartRun(Request("long", {"training.epochs=100000"})), IsOk());
  auto subscription = manager_->Subscribe("long", false);
  ASSERT_THAT(subscription, IsOk());
  RunEvent event;
  // Wait until the worker trains (RUNNING), so the cancel is the cooperative one.
  while (
      (*subscription)->Next(&event, absl::Seconds(60)) == RunSubscription::Result::kEvent &&
      !(event.has_state_change() && event.state_change().state() == RunState::RUN_STATE_RUNNING)) {
  }
  ASSERT_THAT(manager_->CancelRun("long"), IsOk());
  const v1::Run run = Wait("long");
  EXPECT_EQ(run.state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_THAT(run.message(), HasSubstr("cancelled at step"));
  EXPECT_THAT(manager_->CancelRun("long"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already finished")));
}

// gRPC's sync server ends idle threads; a run started from one of them must outlive it (a
// PR_SET_PDEATHSIG worker got SIGTERM when its spawning thread exited).
TEST_F(RunManagerTest, ARunOutlivesTheThreadThatStartedIt) {
  std::thread starter([this] {
    ASSERT_THAT(manager_->StartRun(Request("orphan", {"training.epochs=6"})), IsOk());
    auto subscription = manager_->Subscribe("orphan", false);
    ASSERT_THAT(subscription, IsOk());
    RunEvent event;
    // The worker trains before the thread that started it ends.
    while ((*subscription)->Next(&event, absl::Seconds(60)) == RunSubscription::Result::kEvent &&
           !(event.has_progress() && event.progress().step() >= 1)) {
    }
  });
  starter.join();
  const v1::Run run = Wait("orphan");
  EXPECT_EQ(run.state(), RunState::RUN_STATE_SUCCEEDED) << run.message();
  EXPECT_EQ(run.progress().step(), 24);
}

TEST_F(RunManagerTest, ValidationDuplicatesAndCapacity) {
  EXPECT_THAT(manager_->StartRun(Request("../evil")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id")));
  StartRunRequest bad = Request("bad-lr");
  bad.mutable_config()->mutable_optimizer()->set_lr(-0.1);
  EXPECT_THAT(manager_->StartRun(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lr")));
  EXPECT_THAT(manager_->GetRun("bad-lr"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("bad-lr")));

  ASSERT_THAT(manager_->StartRun(Request("a", {"training.epochs=100000"})), IsOk());
  EXPECT_THAT(manager_->StartRun(Request("a")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("\"a\"")));
  ASSERT_THAT(manager_->StartRun(Request("b", {"training.epochs=100000"})), IsOk());
  EXPECT_THAT(manager_->StartRun(Request("c")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_concurrent_runs=2")));

  EXPECT_EQ(manager_->ListRuns("", {}).size(), 2u);
  EXPECT_EQ(manager_->ListRuns("other", {}).size(), 0u);
  EXPECT_THAT(manager_->CancelRun("nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));

  // Shutdown cancels both and waits for them.
  manager_->Shutdown();
  EXPECT_EQ(manager_->GetRun("a")->state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(manager_->GetRun("b")->state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(manager_->ListRuns("exp", {RunState::RUN_STATE_CANCELLED}).size(), 2u);
  EXPECT_THAT(manager_->StartRun(Request("d")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
}

// Waits until the run's progress reaches `epoch` (its checkpoint of epoch - 1 exists by then).
void WaitForEpoch(RunManager& manager, const std::string& run_id, int epoch) {
  auto subscription = manager.Subscribe(run_id, false);
  ASSERT_THAT(subscription, IsOk());
  RunEvent event;
  while ((*subscription)->Next(&event, absl::Seconds(60)) == RunSubscription::Result::kEvent) {
    if (event.has_progress() && event.progress().epoch() >= epoch) return;
  }
  FAIL() << run_id << " ended before epoch " << epoch;
}

TEST_F(RunManagerTest, AShutDownRunIsRetryableAndAResumedStartContinuesFromItsCheckpoint) {
  // 4 steps per epoch; 120 steps: still going when the shutdown comes.
  const StartRunRequest request = Request("r", {"training.epochs=1000", "training.max_steps=120",
                                                "training.early_stopping.enabled=false"});
  ASSERT_THAT(manager_->StartRun(request), IsOk());
  WaitForEpoch(*manager_, "r", 3);
  manager_->Shutdown();
  const v1::Run interrupted = *manager_->GetRun("r");
  EXPECT_EQ(interrupted.state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_TRUE(interrupted.retryable());
  EXPECT_THAT(interrupted.message(), HasSubstr("interrupted: trainer_server shut down at step"));
  manager_.reset();

  // A new manager on the same data dir knows the run as it ended.
  manager_ = *RunManager::Create(options_);
  v1::Run reloaded = *manager_->GetRun("r");
  EXPECT_EQ(reloaded.state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_TRUE(reloaded.retryable());
  EXPECT_EQ(reloaded.attempt(), 1);
  EXPECT_EQ(reloaded.labels().at("k"), "v");
  EXPECT_THAT(manager_->StartRun(request),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("CANCELLED")));

  StartRunRequest retry = request;
  retry.set_resume(true);
  auto restarted = manager_->StartRun(retry);
  ASSERT_THAT(restarted, IsOk());
  EXPECT_EQ(restarted->attempt(), 2);
  EXPECT_FALSE(restarted->retryable());
  const v1::Run run = Wait("r");
  EXPECT_EQ(run.state(), RunState::RUN_STATE_SUCCEEDED) << run.message();
  EXPECT_EQ(run.progress().step(), 120);
  // It continued from an epoch checkpoint (a multiple of 4 steps, at least epoch 2's) rather
  // than from scratch, and its message counts only the steps of this attempt.
  EXPECT_GE(run.resumed_from_step(), 8);
  EXPECT_EQ(run.resumed_from_step() % 4, 0);
  EXPECT_THAT(run.message(), HasSubstr(absl::StrCat(120 - run.resumed_from_step(), " steps in")));
  std::ifstream log(data_dir_ + "/runs/r/worker.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("resumed from"));
  EXPECT_THAT(text.str(), HasSubstr("worker pid"));  // attempt 1's lines are kept too
  // A finished run does not start again.
  EXPECT_THAT(manager_->StartRun(retry),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("SUCCEEDED")));
}

TEST_F(RunManagerTest, RunsOfADeadServerAreReloadedFailedAndRetryable) {
  // What a server killed with SIGKILL leaves behind: a run recorded RUNNING.
  manager_.reset();
  const std::string dir = data_dir_ + "/runs/dead";
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  v1::Run run;
  run.set_run_id("dead");
  run.set_state(RunState::RUN_STATE_RUNNING);
  run.set_attempt(1);
  run.mutable_progress()->set_step(12);
  std::ofstream(dir + "/run.pb", std::ios::binary) << run.SerializeAsString();
  std::ofstream(dir + "/spec.pb", std::ios::binary) << Request("dead").SerializeAsString();
  ASSERT_EQ(system(("mkdir -p " + data_dir_ + "/runs/junk").c_str()), 0);  // no record: ignored

  manager_ = *RunManager::Create(options_);
  auto reloaded = manager_->GetRun("dead");
  ASSERT_THAT(reloaded, IsOk());
  EXPECT_EQ(reloaded->state(), RunState::RUN_STATE_FAILED);
  EXPECT_TRUE(reloaded->retryable());
  EXPECT_THAT(reloaded->message(),
              HasSubstr("stopped while the run was RUN_STATE_RUNNING (step 12)"));
  EXPECT_THAT(manager_->GetRun("junk"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("junk")));
  EXPECT_EQ(manager_->ListRuns("", {}).size(), 1u);

  // No checkpoint: the resumed start begins afresh and finishes.
  StartRunRequest retry = Request("dead");
  retry.set_resume(true);
  ASSERT_THAT(manager_->StartRun(retry), IsOk());
  const v1::Run done = Wait("dead");
  EXPECT_EQ(done.state(), RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(done.attempt(), 2);
  EXPECT_EQ(done.resumed_from_step(), 0);
}

// Waits (in real time, up to `timeout`) until the file at `path` contains `text`: woken by
// inotify on every write, so no sleep decides anything. False on timeout.
bool WaitForFileToContain(const std::string& path, const std::string& text,
                          absl::Duration timeout) {
  const int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return false;
  const bool watched = inotify_add_watch(fd, path.c_str(), IN_MODIFY) >= 0;
  const absl::Time deadline = absl::Now() + timeout;
  bool found = false;
  while (watched) {
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    if ((found = content.str().find(text) != std::string::npos)) break;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) > 0) {
      char events[4096];
      while (read(fd, events, sizeof(events)) > 0) {
      }
    }
  }
  close(fd);
  return found;
}

// A real worker that ignores SIGTERM really is killed: the fault hangs it at step 6.
TEST_F(RunManagerTest, AHungWorkerIsKilledAfterTheGraceAndItsRetryFinishes) {
  manager_.reset();
  options_.cancel_grace = absl::Seconds(1);
  options_.clock = &clock_;  // the grace ends when the test moves the clock past it
  manager_ = *RunManager::Create(options_);
  const StartRunRequest request =
      Request("hang", {"debug.fault=hang", "debug.fault_at_step=6", "debug.fault_on_attempt=1"});
  ASSERT_THAT(manager_->StartRun(request), IsOk());
  // The worker logs the fault before it hangs, so the SIGTERM cannot reach it between steps.
  ASSERT_TRUE(WaitForFileToContain(data_dir_ + "/runs/hang/worker.log",
                                   "debug.fault=hang at step 6", absl::Seconds(60)));
  ASSERT_THAT(manager_->CancelRun("hang"), IsOk());
  clock_.Advance(absl::Seconds(1));
  const v1::Run killed = Wait("hang");
  EXPECT_EQ(killed.state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_THAT(killed.message(), HasSubstr("worker killed after 1s grace"));
  EXPECT_EQ(killed.progress().step(), 5);  // every event was read before the run ended

  StartRunRequest retry = request;
  retry.set_resume(true);
  ASSERT_THAT(manager_->StartRun(retry), IsOk());
  const v1::Run done = Wait("hang");
  EXPECT_EQ(done.state(), RunState::RUN_STATE_SUCCEEDED) << done.message();
  EXPECT_EQ(done.resumed_from_step(), 4);  // epoch 1's checkpoint
  EXPECT_EQ(done.progress().step(), 8);
}

TEST_F(RunManagerTest, WorkersWaitPassivelyUnlessTheEnvironmentSaysOtherwise) {
  unsetenv("OMP_WAIT_POLICY");
  ASSERT_THAT(manager_->StartRun(Request("env", {"training.epochs=100000"})), IsOk());
  WaitForEpoch(*manager_, "env", 1);
  std::ifstream pid_file(data_dir_ + "/runs/env/worker.pid");
  int pid = 0;
  ASSERT_TRUE(pid_file >> pid);
  std::ifstream environ_file("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::stringstream environ_text;
  environ_text << environ_file.rdbuf();
  std::string entries = environ_text.str();
  std::replace(entries.begin(), entries.end(), '\0', '\n');
  EXPECT_THAT(entries, HasSubstr("\nOMP_WAIT_POLICY=PASSIVE\n"));
  ASSERT_THAT(manager_->CancelRun("env"), IsOk());
  EXPECT_EQ(Wait("env").state(), RunState::RUN_STATE_CANCELLED);
}

// The manager's process control against workers the test plays: launches, signals and exits
// happen when the test says, and the cancel grace ends when the test moves the fake clock.
class RunManagerFakeWorkerTest : public ::testing::Test {
 protected:
  using FakeWorker = testing::FakeWorker;

  void SetUp() override {
    options_.data_dir = jepalab::testing::MakeTempDir("runs_");
    options_.worker_binary = jepalab::testing::RunfilePath("trainer_service/trainer_worker");
    options_.max_concurrent_runs = 4;
    options_.cancel_grace = absl::Seconds(1);
    options_.clock = &clock_;
    options_.launcher = &launcher_;
    auto manager = RunManager::Create(options_);
    ASSERT_THAT(manager, IsOk());
    manager_ = std::move(*manager);
  }

  // Starts a run and returns its worker, which has reported RUNNING.
  std::shared_ptr<FakeWorker> Start(const StartRunRequest& request) {
    auto run = manager_->StartRun(request);
    EXPECT_THAT(run, IsOk());
    std::shared_ptr<FakeWorker> worker = launcher_.last();
    if (worker != nullptr) worker->EmitState(RunState::RUN_STATE_RUNNING, "device: cpu");
    return worker;
  }

  // Waits until the manager has handled the progress event of `step`.
  void WaitForStep(const std::string& run_id, int64_t step) {
    auto subscription = manager_->Subscribe(run_id, false);
    ASSERT_THAT(subscription, IsOk());
    RunEvent event;
    while ((*subscription)->Next(&event, absl::Seconds(60)) == RunSubscription::Result::kEvent) {
      if (event.has_progress() && event.progress().step() >= step) return;
    }
    FAIL() << run_id << " ended before step " << step;
  }

  v1::Run Wait(const std::string& run_id) {
    auto run = manager_->WaitForRun(run_id, absl::Seconds(60));
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : v1::Run();
  }

  jepalab::testing::FakeClock clock_;  // both outlive manager_
  testing::FakeWorkerLauncher launcher_;
  RunManagerOptions options_;
  std::unique_ptr<RunManager> manager_;
};

TEST_F(RunManagerFakeWorkerTest, WorkersGetTheirShareOfTheCoresOnlyWhenOneIsSet) {
  std::shared_ptr<FakeWorker> every_core = Start(Request("every_core"));
  ASSERT_NE(every_core, nullptr);
  for (const std::string& arg : every_core->spec().args) {
    EXPECT_FALSE(absl::StartsWith(arg, "--default_threads")) << arg;
  }
  manager_.reset();
  options_.threads_per_run = 1;
  auto manager = RunManager::Create(options_);
  ASSERT_THAT(manager, IsOk());
  manager_ = std::move(*manager);
  std::shared_ptr<FakeWorker> shared = Start(Request("shared"));
  ASSERT_NE(shared, nullptr);
  EXPECT_TRUE(shared->HasArg("--default_threads=1"));

  // One run of the cores' share: nothing else of this trainer competes for them, so its OpenMP
  // threads spin briefly; runs that oversubscribe the cores wait passively.
  EXPECT_THAT(shared->spec().env, ::testing::Contains("OMP_WAIT_POLICY=PASSIVE"));
  manager_.reset();
  options_.max_concurrent_runs = 1;
  options_.threads_per_run = 0;
  manager = RunManager::Create(options_);
  ASSERT_THAT(manager, IsOk());
  manager_ = std::move(*manager);
  std::shared_ptr<FakeWorker> alone = Start(Request("alone"));
  ASSERT_NE(alone, nullptr);
  if (getenv("OMP_WAIT_POLICY") == nullptr && getenv("GOMP_SPINCOUNT") == nullptr) {
    EXPECT_THAT(alone->spec().env, ::testing::Contains("GOMP_SPINCOUNT=1000"));
    EXPECT_THAT(alone->spec().env, ::testing::Not(::testing::Contains("OMP_WAIT_POLICY=PASSIVE")));
  }

  options_.threads_per_run = -1;
  EXPECT_THAT(RunManager::Create(options_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("threads_per_run")));
}

TEST_F(RunManagerFakeWorkerTest, AHungWorkerIsKilledExactlyWhenTheGraceEndsAndItsRetryResumes) {
  const StartRunRequest request = Request("hang");
  std::shared_ptr<FakeWorker> worker = Start(request);
  ASSERT_NE(worker, nullptr);
  worker->IgnoreSigterm();
  for (int step = 1; step <= 5; ++step) worker->EmitProgress(step, (step - 1) / 4 + 1, 8);
  WaitForStep("hang", 5);
  EXPECT_EQ(manager_->GetRun("hang")->progress().step(), 5);

  ASSERT_THAT(manager_->CancelRun("hang"), IsOk());
  EXPECT_THAT(worker->signals(), ::testing::ElementsAre(SIGTERM));
  // Just before the grace ends: the watchdog has looked at the new time and sleeps again.
  clock_.Advance(absl::Seconds(1) - absl::Milliseconds(1));
  ASSERT_TRUE(clock_.BlockUntilWaiters(1, absl::Seconds(60)));
  EXPECT_THAT(worker->signals(), ::testing::ElementsAre(SIGTERM));
  EXPECT_EQ(manager_->GetRun("hang")->state(), RunState::RUN_STATE_RUNNING);
  EXPECT_TRUE(manager_->GetRun("hang")->cancel_requested());

  clock_.Advance(absl::Milliseconds(1));
  const v1::Run killed = Wait("hang");
  EXPECT_THAT(worker->signals(), ::testing::ElementsAre(SIGTERM, SIGKILL));
  EXPECT_EQ(killed.state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(killed.message(), "cancelled; worker killed after 1s grace");
  EXPECT_EQ(killed.progress().step(), 5);
  EXPECT_TRUE(worker->reaped());

  StartRunRequest retry = request;
  retry.set_resume(true);
  std::shared_ptr<FakeWorker> second = Start(retry);
  ASSERT_EQ(launcher_.launches(), 2);
  EXPECT_TRUE(second->HasArg("--resume"));
  EXPECT_TRUE(second->HasArg("--attempt=2"));
  EXPECT_TRUE(second->spec().append_log);
  for (int step = 4; step <= 8; ++step) second->EmitProgress(step, (step - 1) / 4 + 1, 8);
  second->EmitState(RunState::RUN_STATE_SUCCEEDED, "4 steps in 1s");
  second->Exit(0);
  const v1::Run done = Wait("hang");
  EXPECT_EQ(done.state(), RunState::RUN_STATE_SUCCEEDED) << done.message();
  EXPECT_EQ(done.attempt(), 2);
  EXPECT_EQ(done.resumed_from_step(), 4);
  EXPECT_EQ(done.progress().step(), 8);
  EXPECT_EQ(done.device(), "cpu");
  EXPECT_THAT(second->signals(), ::testing::IsEmpty());
}

TEST_F(RunManagerFakeWorkerTest, ACooperativeCancelSendsNoSigkillEvenAfterTheGrace) {
  std::shared_ptr<FakeWorker> worker = Start(Request("c"));
  worker->EmitProgress(3, 1, 8);
  WaitForStep("c", 3);
  ASSERT_THAT(manager_->CancelRun("c"), IsOk());
  const v1::Run run = Wait("c");
  EXPECT_EQ(run.state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(run.message(), "cancelled at step 3");
  EXPECT_FALSE(run.retryable());
  // A worker that reported its end still gets SIGKILL if it does not exit within the grace; this
  // one exits, and the watchdog stops when it is reaped: no clock waiter is left to fire.
  ASSERT_TRUE(worker->WaitUntilReaped(absl::Seconds(60)));
  clock_.Advance(absl::Seconds(10));
  manager_->Shutdown();
  EXPECT_THAT(worker->signals(), ::testing::ElementsAre(SIGTERM));
}

TEST_F(RunManagerFakeWorkerTest, ExitsWithoutAFinalStateBecomeFailedRuns) {
  std::shared_ptr<FakeWorker> code = Start(Request("code"));
  std::ofstream(code->spec().log_path) << "loading\nout of memory\n";
  code->Exit(3);
  std::shared_ptr<FakeWorker> segv = Start(Request("segv"));
  segv->Die(SIGSEGV);
  std::shared_ptr<FakeWorker> silent = Start(Request("silent"));
  silent->Exit(0);
  std::shared_ptr<FakeWorker> late = Start(Request("late"));  // reports, then crashes
  late->EmitState(RunState::RUN_STATE_SUCCEEDED, "done");
  late->Die(SIGABRT);

  EXPECT_EQ(Wait("code").message(), "worker exited with code 3: loading | out of memory");
  EXPECT_EQ(Wait("code").state(), RunState::RUN_STATE_FAILED);
  EXPECT_EQ(Wait("segv").message(), "worker killed by signal 11 (Segmentation fault)");
  EXPECT_THAT(Wait("silent").message(), HasSubstr("worker exited without reporting a final state"));
  EXPECT_EQ(Wait("late").state(), RunState::RUN_STATE_SUCCEEDED);  // its report stands
  for (const auto& worker : {code, segv, silent, late})
    EXPECT_THAT(worker->signals(), ::testing::IsEmpty());
}

TEST_F(RunManagerFakeWorkerTest, ShutdownCancelsRunningWorkersAndMarksThemRetryable) {
  std::shared_ptr<FakeWorker> worker = Start(Request("s"));
  worker->EmitProgress(2, 1, 8);
  WaitForStep("s", 2);
  manager_->Shutdown();
  const v1::Run run = *manager_->GetRun("s");
  EXPECT_EQ(run.state(), RunState::RUN_STATE_CANCELLED);
  EXPECT_TRUE(run.retryable());
  EXPECT_THAT(run.message(), HasSubstr("interrupted: trainer_server shut down at step 2"));
  EXPECT_THAT(worker->signals(), ::testing::ElementsAre(SIGTERM));
}

TEST_F(RunManagerFakeWorkerTest, TheWorkerGetsTheRunsFilesFlagsAndEnvironment) {
  manager_.reset();
  options_.metrics_address = "127.0.0.1:9";
  options_.metrics_tls_ca_file = "/etc/ca.pem";
  options_.metrics_auth_token_file = "/etc/token";
  manager_ = *RunManager::Create(options_);
  unsetenv("OMP_WAIT_POLICY");
  std::shared_ptr<FakeWorker> worker = Start(Request("f"));
  const std::string dir = options_.data_dir + "/runs/f";
  EXPECT_EQ(worker->spec().binary, options_.worker_binary);
  EXPECT_THAT(worker->spec().args,
              ::testing::ElementsAre(
                  "--run_spec=" + dir + "/spec.pb", "--metrics_address=127.0.0.1:9",
                  "--checkpoint_dir=" + dir + "/checkpoints", "--attempt=1",
                  "--metrics_tls_ca_file=/etc/ca.pem", "--metrics_auth_token_file=/etc/token"));
  EXPECT_THAT(worker->spec().env, ::testing::Contains("OMP_WAIT_POLICY=PASSIVE"));
  EXPECT_EQ(worker->spec().log_path, dir + "/worker.log");
  EXPECT_FALSE(worker->spec().append_log);
  std::ifstream pid_file(dir + "/worker.pid");
  int pid = 0;
  ASSERT_TRUE(pid_file >> pid);
  EXPECT_EQ(pid, worker->pid());
  worker->EmitState(RunState::RUN_STATE_SUCCEEDED, "done");
  worker->Exit(0);
  EXPECT_EQ(Wait("f").state(), RunState::RUN_STATE_SUCCEEDED);
}

TEST_F(RunManagerFakeWorkerTest, ALaunchFailureIsInternalAndRecordsNoRun) {
  launcher_.FailNextLaunch(absl::InternalError("cannot start worker x: No such file"));
  EXPECT_THAT(manager_->StartRun(Request("x")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("cannot start worker")));
  EXPECT_THAT(manager_->GetRun("x"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("x")));
  EXPECT_EQ(launcher_.launches(), 0);
}

// The scheduler resolves a run's config once and sends its hash: a config that does not hash
// to it is refused before anything starts; the right hash (or none) is accepted and recorded.
TEST_F(RunManagerFakeWorkerTest, AStartWhoseConfigDoesNotMatchItsHashIsRefused) {
  StartRunRequest request = Request("h");
  const std::string hash = ::jepalab::config::ConfigHash(request.config());
  request.set_config_hash(hash);
  request.mutable_config()->set_seed(request.config().seed() + 1);  // altered on the way
  EXPECT_THAT(manager_->StartRun(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config_hash")));
  EXPECT_EQ(launcher_.launches(), 0);
  EXPECT_THAT(manager_->GetRun("h"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("h")));

  request.set_config_hash(::jepalab::config::ConfigHash(request.config()));
  Start(request);
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Run run, manager_->GetRun("h"));
  EXPECT_EQ(run.config_hash(), request.config_hash());
  EXPECT_NE(run.config_hash(), hash);
}

TEST(RunManagerCreateTest, RejectsMissingWorker) {
  RunManagerOptions options;
  options.data_dir = jepalab::testing::MakeTempDir("runs_");
  options.worker_binary = "/nonexistent/trainer_worker";
  EXPECT_THAT(RunManager::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("worker_binary")));
}

}  // namespace
}  // namespace jepalab::trainer
