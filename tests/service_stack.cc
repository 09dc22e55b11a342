#include "tests/service_stack.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"

namespace jepalab::testing {
namespace {

namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;
namespace tv1 = ::jepalab::trainer::v1;

constexpr absl::Duration kRpcTimeout = absl::Seconds(30);
constexpr char kAnyRunfile[] = "tests/testdata/micro_plan.yaml";

// The RPC's status, its message prefixed with the RPC's name.
absl::Status FromGrpc(const grpc::Status& status, const std::string& rpc) {
  const absl::Status converted = common::FromGrpcStatus(status);
  if (converted.ok()) return converted;
  return absl::Status(converted.code(), absl::StrCat(rpc, ": ", converted.message()));
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
}

std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

}  // namespace

bool ExperimentFinished(const sched::Experiment& experiment) {
  const auto state = experiment.state();
  if (state != sched::EXPERIMENT_STATE_SUCCEEDED && state != sched::EXPERIMENT_STATE_FAILED &&
      state != sched::EXPERIMENT_STATE_CANCELLED) {
    return false;
  }
  for (const auto& run : experiment.runs()) {
    if (run.state() == common::v1::RUN_STATE_QUEUED || run.state() == common::v1::RUN_STATE_RUNNING)
      return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<ServiceStack>> ServiceStack::Start(
    const ServiceStackOptions& options) {
  std::unique_ptr<ServiceStack> stack(new ServiceStack(options, MakeTempDir("stack_")));
  JEPALAB_RETURN_IF_ERROR(stack->StartMetrics(0));
  JEPALAB_RETURN_IF_ERROR(stack->StartTrainer(0));
  JEPALAB_RETURN_IF_ERROR(stack->StartScheduler());
  return stack;
}

absl::Status ServiceStack::StartMetrics(int port) {
  std::vector<std::string> flags = {"--data_dir=" + root_ + "/metrics", "--http_port=0"};
  if (port != 0) flags.push_back(absl::StrCat("--port=", port));
  flags.insert(flags.end(), options_.metrics_flags.begin(), options_.metrics_flags.end());
  JEPALAB_ASSIGN_OR_RETURN(
      metrics_,
      ServiceProcess::Start("metrics", RunfilePath("metrics_service/metrics_server"), flags));
  metrics_stub_ = met::MetricsService::NewStub(Channel(metrics_->address()));
  return absl::OkStatus();
}

absl::Status ServiceStack::StartTrainer(int port) {
  std::vector<std::string> flags = {"--data_dir=" + root_ + "/trainer",
                                    "--metrics_address=" + metrics_->address()};
  if (port != 0) flags.push_back(absl::StrCat("--port=", port));
  flags.insert(flags.end(), options_.trainer_flags.begin(), options_.trainer_flags.end());
  JEPALAB_ASSIGN_OR_RETURN(
      trainer_,
      ServiceProcess::Start("trainer", RunfilePath("trainer_service/trainer_server"), flags));
  trainer_stub_ = tv1::TrainerService::NewStub(Channel(trainer_->address()));
  return absl::OkStatus();
}

absl::Status ServiceStack::StartScheduler() {
  // The runfiles tree holds configs/ at its workspace root: the scheduler's --config_root.
  const std::string any = RunfilePath(kAnyRunfile);
  const std::string config_root(absl::StripSuffix(any, kAnyRunfile));
  std::vector<std::string> flags = {
      "--data_dir=" + root_ + "/scheduler", "--trainers=" + trainer_->address(),
      "--metrics_address=" + metrics_->address(), "--config_root=" + config_root};
  flags.insert(flags.end(), options_.scheduler_flags.begin(), options_.scheduler_flags.end());
  JEPALAB_ASSIGN_OR_RETURN(
      scheduler_,
      ServiceProcess::Start("scheduler", RunfilePath("scheduler_service/scheduler_server"), flags));
  scheduler_stub_ = sched::SchedulerService::NewStub(Channel(scheduler_->address()));
  return absl::OkStatus();
}

absl::Status ServiceStack::KillAndRestartMetrics(absl::Duration down_for) {
  const int port = metrics_->port();
  metrics_->Kill();
  absl::SleepFor(down_for);
  return StartMetrics(port);
}

absl::Status ServiceStack::KillAndRestartTrainer(absl::Duration down_for) {
  const int port = trainer_->port();
  trainer_->Kill();
  absl::SleepFor(down_for);
  return StartTrainer(port);
}

absl::Status ServiceStack::KillAndRestartScheduler() {
  scheduler_->Kill();
  return StartScheduler();
}

absl::StatusOr<sched::Experiment> ServiceStack::Submit(const std::string& name,
                                                       const std::string& config_path,
                                                       const std::vector<std::string>& overrides) {
  sched::SubmitExperimentRequest request;
  request.set_name(name);
  for (const auto& o : overrides) request.add_overrides(o);
  return Submit(std::move(request), config_path);
}

absl::StatusOr<sched::Experiment> ServiceStack::Submit(sched::SubmitExperimentRequest request,
                                                       const std::string& config_path) {
  request.set_config_yaml(ReadTextFile(RunfilePath(config_path)));
  request.set_config_path(config_path);
  grpc::ClientContext context;
  SetDeadline(context);
  sched::SubmitExperimentResponse response;
  JEPALAB_RETURN_IF_ERROR(FromGrpc(scheduler_stub_->SubmitExperiment(&context, request, &response),
                                   "SubmitExperiment"));
  return response.experiment();
}

absl::StatusOr<sched::Plan> ServiceStack::SubmitPlan(const std::string& plan_path) {
  sched::SubmitPlanRequest request;
  request.set_plan_yaml(ReadTextFile(RunfilePath(plan_path)));
  request.set_plan_path(plan_path);
  grpc::ClientContext context;
  SetDeadline(context);
  sched::SubmitPlanResponse response;
  JEPALAB_RETURN_IF_ERROR(
      FromGrpc(scheduler_stub_->SubmitPlan(&context, request, &response), "SubmitPlan"));
  return response.plan();
}

absl::StatusOr<sched::Experiment> ServiceStack::GetExperiment(const std::string& id) {
  sched::GetExperimentRequest request;
  request.set_id(id);
  grpc::ClientContext context;
  SetDeadline(context);
  sched::GetExperimentResponse response;
  JEPALAB_RETURN_IF_ERROR(
      FromGrpc(scheduler_stub_->GetExperiment(&context, request, &response), "GetExperiment"));
  return response.experiment();
}

absl::StatusOr<sched::Plan> ServiceStack::GetPlan(const std::string& id) {
  sched::GetPlanRequest request;
  request.set_id(id);
  grpc::ClientContext context;
  SetDeadline(context);
  sched::GetPlanResponse response;
  JEPALAB_RETURN_IF_ERROR(
      FromGrpc(scheduler_stub_->GetPlan(&context, request, &response), "GetPlan"));
  return response.plan();
}

absl::StatusOr<sched::Experiment> ServiceStack::WaitForExperiment(
    const std::string& id, const std::function<bool(const sched::Experiment&)>& done,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<sched::Experiment> last = absl::DeadlineExceededError("never answered");
  while (absl::Now() < deadline) {
    last = GetExperiment(id);
    if (last.ok() && done(*last)) return last;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("experiment ", id, " not there after ", absl::FormatDuration(timeout),
                   "; last: ", last.ok() ? last->ShortDebugString() : last.status().ToString()));
}

absl::StatusOr<sched::Plan> ServiceStack::WaitForPlanToFinish(const std::string& id,
                                                              absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<sched::Plan> last = absl::DeadlineExceededError("never answered");
  while (absl::Now() < deadline) {
    last = GetPlan(id);
    if (last.ok() && last->state() != sched::PLAN_STATE_RUNNING) return last;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("plan ", id, " still running after ", absl::FormatDuration(timeout)));
}

absl::StatusOr<std::vector<met::SeriesPoint>> ServiceStack::History(const std::string& run_id,
                                                                    const std::string& name) {
  met::GetRunHistoryRequest request;
  request.set_run_id(run_id);
  request.add_names(name);
  grpc::ClientContext context;
  SetDeadline(context);
  met::GetRunHistoryResponse response;
  JEPALAB_RETURN_IF_ERROR(
      FromGrpc(metrics_stub_->GetRunHistory(&context, request, &response), "GetRunHistory"));
  std::vector<met::SeriesPoint> points;
  for (const auto& series : response.series()) {
    if (series.name() == name) points.assign(series.points().begin(), series.points().end());
  }
  return points;
}

absl::StatusOr<std::vector<tv1::Run>> ServiceStack::TrainerRuns() {
  tv1::ListRunsRequest request;
  grpc::ClientContext context;
  SetDeadline(context);
  tv1::ListRunsResponse response;
  JEPALAB_RETURN_IF_ERROR(
      FromGrpc(trainer_stub_->ListRuns(&context, request, &response), "ListRuns"));
  return std::vector<tv1::Run>(response.runs().begin(), response.runs().end());
}

}  // namespace jepalab::testing
