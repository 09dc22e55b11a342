// End to end over the real binaries on 127.0.0.1: scheduler -> trainer -> metrics, the CLI,
// Prometheus text over HTTP, and a metrics_service restart on the same data dir.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"
#include "proto/trainer.grpc.pb.h"

namespace jepalab {
namespace {

using ::jepalab::testing::HttpGet;
using ::jepalab::testing::MakeTempDir;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceProcess;
namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;

constexpr char kMiniConfig[] = "configs/training/jepa_pretrain_a6000_mini.yaml";
// Keeps the run to a few seconds: a few hundred tasks, batch 32, one epoch.
const std::vector<std::string> kTinyOverrides = {
    "data.generator.num_atomic=240", "data.generator.num_sequential=160",
    "training.batch_size=32",        "training.epochs=2",
    "data.validation.split=0.1",     "training.num_threads=1"};

std::string ReadFile(const std::string& path) { return jepalab::testing::ReadTextFile(path); }

int ReadPort(const std::string& path) {
  int port = 0;
  absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(path)), &port);
  return port;
}

// Runs the jepalab CLI; returns (exit code, stdout).
std::pair<int, std::string> RunCli(const std::vector<std::string>& args) {
  return jepalab::testing::RunCommand(RunfilePath("cli/jepalab"), args);
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir("e2e_");
    StartMetrics();
    JEPALAB_ASSERT_OK_AND_ASSIGN(
        trainer_, ServiceProcess::Start("trainer", RunfilePath("trainer_service/trainer_server"),
                                        {"--data_dir=" + root_ + "/trainer",
                                         "--metrics_address=" + metrics_->address()}));
    JEPALAB_ASSERT_OK_AND_ASSIGN(
        scheduler_,
        ServiceProcess::Start(
            "scheduler", RunfilePath("scheduler_service/scheduler_server"),
            {"--data_dir=" + root_ + "/scheduler", "--trainers=" + trainer_->address()}));
    scheduler_stub_ = sched::SchedulerService::NewStub(
        grpc::CreateChannel(scheduler_->address(), grpc::InsecureChannelCredentials()));
  }

  void StartMetrics() {
    http_port_file_ = root_ + "/metrics_http_port";
    auto started = ServiceProcess::Start(
        "metrics", RunfilePath("metrics_service/metrics_server"),
        {"--data_dir=" + root_ + "/metrics", "--http_port=0", "--http_port_file=" + http_port_file_,
         "--finished_run_retention_seconds=600"});
    ASSERT_THAT(started, ::testing::IsOk());
    metrics_ = std::move(started).value();
    metrics_stub_ = met::MetricsService::NewStub(
        grpc::CreateChannel(metrics_->address(), grpc::InsecureChannelCredentials()));
  }

  sched::Experiment Submit(const std::vector<std::string>& extra_overrides) {
    sched::SubmitExperimentRequest request;
    request.set_name("e2e");
    request.set_config_yaml(ReadFile(RunfilePath(kMiniConfig)));
    request.set_config_path(kMiniConfig);
    for (const auto& o : kTinyOverrides) request.add_overrides(o);
    for (const auto& o : extra_overrides) request.add_overrides(o);
    grpc::ClientContext context;
    sched::SubmitExperimentResponse response;
    grpc::Status status = scheduler_stub_->SubmitExperiment(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.experiment();
  }

  // Follows WatchExperiment until the experiment is finished; returns the final snapshot.
  sched::Experiment WaitUntilFinished(const std::string& id) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
    sched::WatchExperimentRequest request;
    request.set_id(id);
    auto reader = scheduler_stub_->WatchExperiment(&context, request);
    sched::ExperimentEvent event;
    sched::Experiment last;
    while (reader->Read(&event)) last = event.experiment();
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return last;
  }

  met::GetRunHistoryResponse History(const std::string& run_id, const std::string& name) {
    met::GetRunHistoryRequest request;
    request.set_run_id(run_id);
    request.add_names(name);
    grpc::ClientContext context;
    met::GetRunHistoryResponse response;
    grpc::Status status = metrics_stub_->GetRunHistory(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string root_;
  std::string http_port_file_;
  std::unique_ptr<ServiceProcess> metrics_, trainer_, scheduler_;
  std::unique_ptr<sched::SchedulerService::Stub> scheduler_stub_;
  std::unique_ptr<met::MetricsService::Stub> metrics_stub_;
};

TEST_F(EndToEndTest, ExperimentRunsAndItsMetricsAreStoredAndExported) {
  const sched::Experiment submitted = Submit({});
  ASSERT_EQ(submitted.runs_size(), 1);
  const std::string run_id = submitted.runs(0).run_id();

  const sched::Experiment done = WaitUntilFinished(submitted.id());
  ASSERT_EQ(done.state(), sched::EXPERIMENT_STATE_SUCCEEDED) << done.DebugString();
  const int64_t steps = done.runs(0).progress().step();
  ASSERT_GT(steps, 0);

  // One loss point per optimizer step, steps 1..N in order.
  met::GetRunHistoryResponse history = History(run_id, "loss/total");
  ASSERT_EQ(history.series_size(), 1);
  const auto& points = history.series(0).points();
  ASSERT_EQ(points.size(), steps);
  for (int i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i].step(), i + 1);
    EXPECT_TRUE(std::isfinite(points[i].value()));
  }

  // The run's series are in Prometheus text at /metrics.
  absl::StatusOr<std::string> exposition = HttpGet(ReadPort(http_port_file_), "/metrics");
  ASSERT_THAT(exposition, ::testing::IsOk());
  EXPECT_NE(exposition->find("jepalab_train_loss{"), std::string::npos);
  EXPECT_NE(exposition->find(absl::StrCat("run=\"", run_id, "\"")), std::string::npos);
  EXPECT_NE(exposition->find("jepalab_train_steps_total"), std::string::npos);

  // The CLI sees the same: health, status and the metric history as CSV.
  const std::vector<std::string> endpoints = {"--scheduler=" + scheduler_->address(),
                                              "--trainer=" + trainer_->address(),
                                              "--metrics=" + metrics_->address()};
  auto [health_code, health_out] = RunCli({"health", endpoints[0], endpoints[1], endpoints[2]});
  EXPECT_EQ(health_code, 0) << health_out;
  EXPECT_NE(health_out.find("SERVING"), std::string::npos);
  auto [status_code, status_out] = RunCli({"status", submitted.id(), endpoints[0], endpoints[2]});
  EXPECT_EQ(status_code, 0) << status_out;
  EXPECT_NE(status_out.find("SUCCEEDED"), std::string::npos) << status_out;
  // Latest metrics come from metrics_service, their owner: the run's last loss point.
  EXPECT_NE(status_out.find(absl::StrCat(run_id, " latest:")), std::string::npos) << status_out;
  EXPECT_NE(status_out.find(absl::StrFormat(" loss/total=%.6g", points[steps - 1].value())),
            std::string::npos)
      << status_out;
  auto [metrics_code, csv] = RunCli({"metrics", run_id, "--name", "loss/total", endpoints[2]});
  EXPECT_EQ(metrics_code, 0) << csv;
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  EXPECT_EQ(static_cast<int64_t>(lines.size()), steps + 1) << csv;  // header + one line per step

  // Restart metrics_service on the same data dir: the history is still there.
  auto exit_status = metrics_->Terminate();
  ASSERT_THAT(exit_status, ::testing::IsOk());
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0) << *exit_status;
  StartMetrics();
  met::GetRunHistoryResponse after = History(run_id, "loss/total");
  ASSERT_EQ(after.series_size(), 1);
  EXPECT_EQ(after.series(0).points_size(), steps);
  EXPECT_EQ(after.series(0).points(steps - 1).value(), points[steps - 1].value());
}

TEST_F(EndToEndTest, CrashingRunFailsWithoutTakingTheTrainerDown) {
  const sched::Experiment submitted = Submit({"debug.fault=segfault", "debug.fault_at_step=2"});
  const sched::Experiment done = WaitUntilFinished(submitted.id());
  ASSERT_EQ(done.state(), sched::EXPERIMENT_STATE_FAILED) << done.DebugString();
  EXPECT_EQ(done.runs(0).state(), common::v1::RUN_STATE_FAILED);
  EXPECT_NE(done.runs(0).message().find("signal"), std::string::npos) << done.runs(0).message();
  EXPECT_THAT(ServiceProcess::WaitForServing(trainer_->address(), absl::Seconds(5)),
              ::testing::IsOk());

  // The same trainer still runs the next experiment.
  const sched::Experiment next = Submit({"training.max_steps=3"});
  EXPECT_EQ(WaitUntilFinished(next.id()).state(), sched::EXPERIMENT_STATE_SUCCEEDED);
}

TEST_F(EndToEndTest, InvalidConfigIsRejectedWithTheKeyPath) {
  sched::SubmitExperimentRequest request;
  request.set_config_yaml(ReadFile(RunfilePath(kMiniConfig)));
  request.set_config_path(kMiniConfig);
  request.add_overrides("optimizer.lr=-0.1");
  grpc::ClientContext context;
  sched::SubmitExperimentResponse response;
  grpc::Status status = scheduler_stub_->SubmitExperiment(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("optimizer.lr: must be > 0, got -0.1"), std::string::npos)
      << status.error_message();
}

TEST_F(EndToEndTest, ServicesShutDownCleanlyOnSigterm) {
  for (ServiceProcess* p : {scheduler_.get(), trainer_.get(), metrics_.get()}) {
    auto exit_status = p->Terminate();
    ASSERT_THAT(exit_status, ::testing::IsOk());
    EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0) << *exit_status;
  }
}

}  // namespace
}  // namespace jepalab
