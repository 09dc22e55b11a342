#include "cli/fake_services.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command_spec.h"
#include "cli/command_table.h"

namespace jepalab::cli {
namespace {

namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;

grpc::Status NotFound(const std::string& what, const std::string& id) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat(what, " \"", id, "\" not found"));
}

}  // namespace

void FakeScheduler::Record(const std::string& call) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(call);
}

std::vector<std::string> FakeScheduler::calls() {
  absl::MutexLock lock(&mu_);
  return calls_;
}

sched::SubmitExperimentRequest FakeScheduler::submitted_experiment() {
  absl::MutexLock lock(&mu_);
  return submitted_experiment_;
}

sched::SubmitPlanRequest FakeScheduler::submitted_plan() {
  absl::MutexLock lock(&mu_);
  return submitted_plan_;
}

grpc::Status FakeScheduler::SubmitExperiment(grpc::ServerContext*,
                                             const sched::SubmitExperimentRequest* request,
                                             sched::SubmitExperimentResponse* response) {
  Record(absl::StrCat("SubmitExperiment ", request->name()));
  {
    absl::MutexLock lock(&mu_);
    submitted_experiment_ = *request;
  }
  *response->mutable_experiment() = experiment;
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::GetExperiment(grpc::ServerContext*,
                                          const sched::GetExperimentRequest* request,
                                          sched::GetExperimentResponse* response) {
  Record(absl::StrCat("GetExperiment ", request->id()));
  if (request->id() != experiment.id()) return NotFound("experiment", request->id());
  *response->mutable_experiment() = experiment;
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::ListExperiments(grpc::ServerContext*,
                                            const sched::ListExperimentsRequest* request,
                                            sched::ListExperimentsResponse* response) {
  Record(absl::StrCat("ListExperiments ", request->sweep_id()));
  for (const sched::Experiment& x : experiments) {
    if (request->sweep_id().empty() || x.sweep_id() == request->sweep_id())
      *response->add_experiments() = x;
  }
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::CancelExperiment(grpc::ServerContext*,
                                             const sched::CancelExperimentRequest* request,
                                             sched::CancelExperimentResponse* response) {
  Record(absl::StrCat("CancelExperiment ", request->id()));
  if (request->id() != experiment.id()) return NotFound("experiment", request->id());
  *response->mutable_experiment() = experiment;
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::WatchExperiment(grpc::ServerContext*,
                                            const sched::WatchExperimentRequest* request,
                                            grpc::ServerWriter<sched::ExperimentEvent>* writer) {
  Record(absl::StrCat("WatchExperiment ", request->id()));
  for (const sched::Experiment& x : watch_events) {
    sched::ExperimentEvent event;
    *event.mutable_experiment() = x;
    writer->Write(event);
  }
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::SubmitPlan(grpc::ServerContext*,
                                       const sched::SubmitPlanRequest* request,
                                       sched::SubmitPlanResponse* response) {
  Record(absl::StrCat("SubmitPlan ", request->plan_path()));
  {
    absl::MutexLock lock(&mu_);
    submitted_plan_ = *request;
  }
  *response->mutable_plan() = plan;
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::GetPlan(grpc::ServerContext*, const sched::GetPlanRequest* request,
                                    sched::GetPlanResponse* response) {
  Record(absl::StrCat("GetPlan ", request->id()));
  if (request->id() != plan.id()) return NotFound("plan", request->id());
  *response->mutable_plan() = plan;
  absl::MutexLock lock(&mu_);
  if (!plan_polls.empty()) {
    *response->mutable_plan() = plan_polls[std::min(plan_polls_served_, plan_polls.size() - 1)];
    ++plan_polls_served_;
  }
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::ListPlans(grpc::ServerContext*, const sched::ListPlansRequest*,
                                      sched::ListPlansResponse* response) {
  Record("ListPlans");
  for (const sched::Plan& p : plans) *response->add_plans() = p;
  return grpc::Status::OK;
}

grpc::Status FakeScheduler::CancelPlan(grpc::ServerContext*,
                                       const sched::CancelPlanRequest* request,
                                       sched::CancelPlanResponse* response) {
  Record(absl::StrCat("CancelPlan ", request->id()));
  if (request->id() != plan.id()) return NotFound("plan", request->id());
  *response->mutable_plan() = plan;
  return grpc::Status::OK;
}

std::vector<std::string> FakeMetrics::calls() {
  absl::MutexLock lock(&mu_);
  return calls_;
}

met::GetRunHistoryRequest FakeMetrics::history_request() {
  absl::MutexLock lock(&mu_);
  return history_request_;
}

grpc::Status FakeMetrics::GetRunHistory(grpc::ServerContext*,
                                        const met::GetRunHistoryRequest* request,
                                        met::GetRunHistoryResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(absl::StrCat("GetRunHistory ", request->run_id()));
  history_request_ = *request;
  *response = history;
  response->set_run_id(request->run_id());
  return grpc::Status::OK;
}

std::vector<met::CompareRunsRequest> FakeMetrics::compare_requests() {
  absl::MutexLock lock(&mu_);
  return compare_requests_;
}

grpc::Status FakeMetrics::CompareRuns(grpc::ServerContext*, const met::CompareRunsRequest* request,
                                      met::CompareRunsResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(absl::StrCat("CompareRuns ", absl::StrJoin(request->run_ids(), ",")));
  compare_requests_.push_back(*request);
  if (!compare_error.ok()) return compare_error;
  const std::set<std::string> names(request->names().begin(), request->names().end());
  for (const std::string& run_id : request->run_ids()) {
    const auto known =
        std::find_if(comparison.runs().begin(), comparison.runs().end(),
                     [&](const met::RunComparison& run) { return run.run().run_id() == run_id; });
    if (known == comparison.runs().end()) return NotFound("run", run_id);
    met::RunComparison* answer = response->add_runs();
    *answer = *known;
    if (names.empty()) continue;
    answer->clear_metrics();
    for (const met::MetricSummary& summary : known->metrics()) {
      if (names.count(summary.name()) > 0) *answer->add_metrics() = summary;
    }
  }
  return grpc::Status::OK;
}

grpc::Status FakeMetrics::GetCollapseStatus(grpc::ServerContext*,
                                            const met::GetCollapseStatusRequest* request,
                                            met::GetCollapseStatusResponse*) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(absl::StrCat("GetCollapseStatus ", request->run_id()));
  return NotFound("run", request->run_id());
}

grpc::Status FakeHealth::Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                               grpc::health::v1::HealthCheckResponse* response) {
  response->set_status(serving ? grpc::health::v1::HealthCheckResponse::SERVING
                               : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  return grpc::Status::OK;
}

LocalServer::LocalServer(const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  address_ = absl::StrCat("127.0.0.1:", port);
}

LocalServer::~LocalServer() {
  if (server_ != nullptr) server_->Shutdown();
}

CliResult RunCli(std::vector<std::string> args, const std::string& address) {
  for (const char* flag : {"--scheduler=", "--trainer=", "--metrics="})
    args.push_back(flag + address);
  args.push_back("--timeout=10");
  std::ostringstream out, err;
  CommandIo io{out, err, /*stdout_is_tty=*/false};
  CliResult result;
  result.code = RunJepalab(args, io);
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace jepalab::cli
