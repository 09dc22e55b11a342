// The `schedule`, `sweep submit` and `compare` commands in process through RunJepalab, against
// fake scheduler and metrics services on a local port: what each command sends and prints.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cli/fake_services.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"

namespace jepalab::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;

// Records what the CLI sent; answers like the real scheduler would for valid input.
class SweepScheduleFake final : public sched::SchedulerService::Service {
 public:
  grpc::Status SubmitSweep(grpc::ServerContext*, const sched::SubmitSweepRequest* request,
                           sched::SubmitSweepResponse* response) override {
    absl::MutexLock lock(&mu_);
    sweeps.push_back(*request);
    response->set_sweep_id(absl::StrCat(request->name(), "-0001"));
    for (const auto& variant : request->variants()) {
      sched::Experiment* x = response->add_experiments();
      x->set_id(
          absl::StrCat(request->name(), ".", variant.name(), "-000", response->experiments_size()));
      for (int64_t seed : request->seeds()) x->add_runs()->set_seed(seed);
    }
    return grpc::Status::OK;
  }
  // Every experiment of a submitted sweep is reported finished in state `finished_state`, the
  // last one FAILED when `fail_last` is set.
  grpc::Status ListExperiments(grpc::ServerContext*, const sched::ListExperimentsRequest* request,
                               sched::ListExperimentsResponse* response) override {
    absl::MutexLock lock(&mu_);
    for (const auto& sweep : sweeps) {
      if (request->sweep_id() != absl::StrCat(sweep.name(), "-0001")) continue;
      for (int i = 0; i < sweep.variants_size(); ++i) {
        sched::Experiment* x = response->add_experiments();
        x->set_id(absl::StrCat(sweep.name(), ".", sweep.variants(i).name(), "-000", i + 1));
        x->set_state(fail_last && i + 1 == sweep.variants_size()
                         ? sched::EXPERIMENT_STATE_FAILED
                         : sched::EXPERIMENT_STATE_SUCCEEDED);
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status CreateSchedule(grpc::ServerContext*, const sched::CreateScheduleRequest* request,
                              sched::CreateScheduleResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (request->cron() == "bad") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cron: expected 5 fields, got 1");
    }
    creates.push_back(*request);
    sched::Schedule* s = response->mutable_schedule();
    s->set_name(request->name());
    s->set_cron(request->cron());
    s->set_paused(request->paused());
    if (request->has_sweep()) *s->mutable_sweep() = request->sweep();
    if (request->has_plan()) *s->mutable_plan() = request->plan();
    s->set_next_fire_unix_ms(request->paused() ? 0 : 1710640800000);  // 2024-03-17 02:00 UTC
    stored = *s;
    return grpc::Status::OK;
  }
  grpc::Status ListSchedules(grpc::ServerContext*, const sched::ListSchedulesRequest*,
                             sched::ListSchedulesResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (!stored.name().empty()) *response->add_schedules() = stored;
    return grpc::Status::OK;
  }
  grpc::Status PauseSchedule(grpc::ServerContext*, const sched::PauseScheduleRequest* request,
                             sched::PauseScheduleResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (request->name() != stored.name()) return Unknown(request->name());
    stored.set_paused(true);
    *response->mutable_schedule() = stored;
    return grpc::Status::OK;
  }
  grpc::Status GetSchedule(grpc::ServerContext*, const sched::GetScheduleRequest* request,
                           sched::GetScheduleResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (request->name() != stored.name()) return Unknown(request->name());
    *response->mutable_schedule() = stored;
    return grpc::Status::OK;
  }
  grpc::Status ResumeSchedule(grpc::ServerContext*, const sched::ResumeScheduleRequest* request,
                              sched::ResumeScheduleResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (request->name() != stored.name()) return Unknown(request->name());
    stored.set_paused(false);
    *response->mutable_schedule() = stored;
    return grpc::Status::OK;
  }
  grpc::Status DeleteSchedule(grpc::ServerContext*, const sched::DeleteScheduleRequest* request,
                              sched::DeleteScheduleResponse*) override {
    absl::MutexLock lock(&mu_);
    if (request->name() != stored.name()) return Unknown(request->name());
    stored.Clear();
    return grpc::Status::OK;
  }

  static grpc::Status Unknown(const std::string& name) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "schedule \"" + name + "\" not found");
  }

  absl::Mutex mu_;
  std::vector<sched::SubmitSweepRequest> sweeps;
  std::vector<sched::CreateScheduleRequest> creates;
  sched::Schedule stored;
  bool fail_last = false;
};

class CompareFake final : public met::MetricsService::Service {
 public:
  grpc::Status CompareRuns(grpc::ServerContext*, const met::CompareRunsRequest* request,
                           met::CompareRunsResponse* response) override {
    int i = 0;
    for (const std::string& id : request->run_ids()) {
      met::RunComparison* run = response->add_runs();
      run->mutable_run()->set_run_id(id);
      run->mutable_run()->set_config_yaml(absl::StrCat(
          "seed: 1\noptimizer:\n  lr: ", i++ == 0 ? "0.001" : "0.0003", "\n  wd: 0.05\n"));
      met::MetricSummary* m = run->add_metrics();
      m->set_name("train/loss");
      m->set_last(1.0 + i);
    }
    return grpc::Status::OK;
  }
};

class CliCommandsTest : public ::testing::Test {
 protected:
  CliCommandsTest() : server_({&scheduler_, &metrics_}) {}

  // Runs `jepalab ARGS...`; returns the exit code, fills out_ and err_.
  int Run(const std::vector<std::string>& args) {
    const CliResult result = RunCli(args, server_.address());
    out_ = result.out;
    err_ = result.err;
    return result.code;
  }

  SweepScheduleFake scheduler_;
  CompareFake metrics_;
  LocalServer server_;
  std::string out_, err_;
};

TEST_F(CliCommandsTest, SweepSubmitSendsTheExpandableSweepFile) {
  ASSERT_EQ(Run({"sweep", "submit", "configs/sweeps/vq_fixes_mini.yaml"}), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("submitted sweep vq_fixes_mini-0001 (5 experiments, 10 runs)\n"));
  EXPECT_THAT(out_, HasSubstr("  vq_fixes_mini.codebook_grad-0005  2 runs\n"));
  ASSERT_EQ(scheduler_.sweeps.size(), 1u);
  const sched::SubmitSweepRequest& sent = scheduler_.sweeps[0];
  EXPECT_EQ(sent.config_path(), "configs/training/jepa_pretrain_a6000_mini.yaml");
  EXPECT_THAT(sent.config_yaml(), HasSubstr("object_encoder:"));
  EXPECT_TRUE(sent.stop_on_collapse().enabled());
  EXPECT_EQ(sent.variants(4).overrides(0), "object_encoder.ema_decay=null");
}

TEST_F(CliCommandsTest, SweepSubmitWatchFollowsTheSweepToItsEnd) {
  ASSERT_EQ(Run({"sweep", "submit", "configs/sweeps/vq_fixes_mini.yaml", "--watch"}), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("  vq_fixes_mini.baseline-0001  SUCCEEDED\n"));
  EXPECT_THAT(out_, HasSubstr("sweep vq_fixes_mini-0001 finished: 5 SUCCEEDED\n"));
  scheduler_.fail_last = true;
  scheduler_.sweeps.clear();
  EXPECT_EQ(Run({"sweep", "submit", "configs/sweeps/vq_fixes_mini.yaml", "--watch"}), 1);
  EXPECT_THAT(out_, HasSubstr("sweep vq_fixes_mini-0001 finished: 1 FAILED 4 SUCCEEDED\n"));
}

TEST_F(CliCommandsTest, SweepSubmitRefusesABadFileBeforeAnyRpc) {
  EXPECT_EQ(Run({"sweep", "submit", "configs/sweeps/missing.yaml"}), 1);
  EXPECT_THAT(err_, HasSubstr("cannot read sweep file configs/sweeps/missing.yaml"));
  EXPECT_EQ(Run({"sweep", "launch"}), 2);
  EXPECT_THAT(err_, HasSubstr("usage: jepalab sweep submit"));
  EXPECT_TRUE(scheduler_.sweeps.empty());
}

TEST_F(CliCommandsTest, ScheduleAddListPauseDelete) {
  ASSERT_EQ(Run({"schedule", "add", "nightly", "--cron", "0 2 * * *", "--sweep",
                 "configs/sweeps/vq_fixes_mini.yaml"}),
            0)
      << err_;
  EXPECT_EQ(
      out_,
      "schedule nightly created: \"0 2 * * *\" (UTC) -> sweep vq_fixes_mini (5 variants, stop on "
      "collapse)\n  next: 2024-03-17 02:00 UTC\n");
  ASSERT_EQ(scheduler_.creates.size(), 1u);
  EXPECT_EQ(scheduler_.creates[0].sweep().variants_size(), 5);
  EXPECT_FALSE(scheduler_.creates[0].sweep().config_yaml().empty());

  ASSERT_EQ(Run({"schedule", "list"}), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("nightly  0 2 * * *  active  2024-03-17 02:00"));
  ASSERT_EQ(Run({"schedule", "pause", "nightly"}), 0) << err_;
  EXPECT_EQ(out_, "schedule nightly paused\n");
  ASSERT_EQ(Run({"schedule", "show", "nightly"}), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("nightly"));
  EXPECT_THAT(out_, HasSubstr("paused"));
  ASSERT_EQ(Run({"schedule", "resume", "nightly"}), 0) << err_;
  EXPECT_EQ(out_, "schedule nightly resumed, next: 2024-03-17 02:00 UTC\n");
  ASSERT_EQ(Run({"schedule", "delete", "nightly"}), 0) << err_;
  EXPECT_EQ(out_, "schedule nightly deleted\n");
  EXPECT_EQ(Run({"schedule", "delete", "nightly"}), 1);
  EXPECT_THAT(err_, HasSubstr("NOT_FOUND: schedule \"nightly\" not found"));
}

TEST_F(CliCommandsTest, ScheduleAddPlanCarriesTheFileAndMiniFlag) {
  ASSERT_EQ(Run({"schedule", "add", "weekly", "--cron", "@weekly", "--plan",
                 "configs/plans/vq_diagnostic.yaml", "--mini", "--paused"}),
            0)
      << err_;
  ASSERT_EQ(scheduler_.creates.size(), 1u);
  const sched::CreateScheduleRequest& sent = scheduler_.creates[0];
  EXPECT_TRUE(sent.plan().mini());
  EXPECT_TRUE(sent.paused());
  EXPECT_THAT(sent.plan().plan_yaml(), HasSubstr("name: vq_diagnostic"));
  // The _mini run configs travel with the schedule: its firings need no checkout.
  EXPECT_GT(sent.plan().config_files().count("configs/training/jepa_pretrain_a6000_mini.yaml"), 0u);
  EXPECT_EQ(sent.plan().config_files().count("configs/training/jepa_pretrain_a6000.yaml"), 0u);
  EXPECT_THAT(out_, HasSubstr("-> plan configs/plans/vq_diagnostic.yaml (mini)\n  next: paused\n"));
}

TEST_F(CliCommandsTest, ScheduleAddUsageAndServerErrors) {
  EXPECT_EQ(Run({"schedule", "add", "x", "--cron", "0 2 * * *"}), 2);
  EXPECT_THAT(err_, HasSubstr("exactly one of --plan FILE and --sweep FILE"));
  EXPECT_EQ(Run({"schedule", "add", "x", "--sweep", "configs/sweeps/vq_fixes_mini.yaml"}), 2);
  EXPECT_THAT(err_, HasSubstr("--cron is required"));
  EXPECT_EQ(Run({"schedule", "add", "x", "--cron", "@daily", "--plan",
                 "configs/plans/vq_diagnostic.yaml", "--stop_on_collapse"}),
            2);
  EXPECT_THAT(err_, HasSubstr("stop_on_collapse in its file"));
  EXPECT_TRUE(scheduler_.creates.empty());
  EXPECT_EQ(Run({"schedule", "add", "x", "--cron", "bad", "--sweep",
                 "configs/sweeps/vq_fixes_mini.yaml"}),
            1);
  EXPECT_THAT(err_, HasSubstr("scheduler CreateSchedule"));
  EXPECT_THAT(err_, HasSubstr("INVALID_ARGUMENT: cron: expected 5 fields"));
}

TEST_F(CliCommandsTest, ComparePrintsTheMetricsSideBySideAndTheConfigDiff) {
  ASSERT_EQ(Run({"compare", "run-a", "run-b"}), 0) << err_;
  EXPECT_THAT(out_, ::testing::MatchesRegex("METRIC +run-a +run-b\n.*"));
  EXPECT_THAT(out_, ::testing::ContainsRegex("train/loss +final "));
  EXPECT_THAT(out_, HasSubstr("config diff: 1 key differs (2 equal keys not shown)\n"
                              "KEY           run-a  run-b\n"
                              "optimizer.lr  0.001  0.0003\n"));
  EXPECT_THAT(out_, Not(HasSubstr("optimizer.wd")));
}

}  // namespace
}  // namespace jepalab::cli
