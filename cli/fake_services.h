// Test doubles for the CLI's in-process tests: fake scheduler, metrics and health services with
// canned answers that record what they were asked, a local server for them, and a runner of
// `jepalab ARGS...` against it (RunJepalab, the binary's own entry point).
#ifndef JEPALAB_CLI_FAKE_SERVICES_H_
#define JEPALAB_CLI_FAKE_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"

namespace jepalab::cli {

// Answers from the canned fields below; an id other than the canned one's is NOT_FOUND. Every
// call appends "<Method> <id>" to calls().
class FakeScheduler final : public scheduler::v1::SchedulerService::Service {
 public:
  scheduler::v1::Experiment experiment;                 // Submit/Get/CancelExperiment
  std::vector<scheduler::v1::Experiment> watch_events;  // WatchExperiment's stream
  std::vector<scheduler::v1::Experiment> experiments;   // ListExperiments (filtered by sweep id)
  scheduler::v1::Plan plan;                             // Submit/Get/CancelPlan
  // When set, GetPlan answers these in turn (then the last one again): a plan as a watch sees it
  // move on.
  std::vector<scheduler::v1::Plan> plan_polls;
  std::vector<scheduler::v1::Plan> plans;  // ListPlans

  std::vector<std::string> calls();
  scheduler::v1::SubmitExperimentRequest submitted_experiment();
  scheduler::v1::SubmitPlanRequest submitted_plan();

  grpc::Status SubmitExperiment(grpc::ServerContext*,
                                const scheduler::v1::SubmitExperimentRequest* request,
                                scheduler::v1::SubmitExperimentResponse* response) override;
  grpc::Status GetExperiment(grpc::ServerContext*,
                             const scheduler::v1::GetExperimentRequest* request,
                             scheduler::v1::GetExperimentResponse* response) override;
  grpc::Status ListExperiments(grpc::ServerContext*,
                               const scheduler::v1::ListExperimentsRequest* request,
                               scheduler::v1::ListExperimentsResponse* response) override;
  grpc::Status CancelExperiment(grpc::ServerContext*,
                                const scheduler::v1::CancelExperimentRequest* request,
                                scheduler::v1::CancelExperimentResponse* response) override;
  grpc::Status WatchExperiment(grpc::ServerContext*,
                               const scheduler::v1::WatchExperimentRequest* request,
                               grpc::ServerWriter<scheduler::v1::ExperimentEvent>* writer) override;
  grpc::Status SubmitPlan(grpc::ServerContext*, const scheduler::v1::SubmitPlanRequest* request,
                          scheduler::v1::SubmitPlanResponse* response) override;
  grpc::Status GetPlan(grpc::ServerContext*, const scheduler::v1::GetPlanRequest* request,
                       scheduler::v1::GetPlanResponse* response) override;
  grpc::Status ListPlans(grpc::ServerContext*, const scheduler::v1::ListPlansRequest* request,
                         scheduler::v1::ListPlansResponse* response) override;
  grpc::Status CancelPlan(grpc::ServerContext*, const scheduler::v1::CancelPlanRequest* request,
                          scheduler::v1::CancelPlanResponse* response) override;

 private:
  void Record(const std::string& call);

  absl::Mutex mu_;
  std::vector<std::string> calls_;
  scheduler::v1::SubmitExperimentRequest submitted_experiment_;
  scheduler::v1::SubmitPlanRequest submitted_plan_;
  size_t plan_polls_served_ = 0;
};

// GetRunHistory answers `history` (its run id set to the one asked for). CompareRuns answers, as
// metrics_service does, the runs of `comparison` asked for, in the order asked, each with only the
// metrics named (none named: all of its own); a run id it lacks is NOT_FOUND, and a
// `compare_error` other than OK fails every call (e.g. UNAVAILABLE: metrics_service down).
// GetCollapseStatus is NOT_FOUND (a run without detectors). Calls are recorded as above
// ("CompareRuns <run ids joined by ','>").
class FakeMetrics final : public metrics::v1::MetricsService::Service {
 public:
  metrics::v1::GetRunHistoryResponse history;
  metrics::v1::CompareRunsResponse comparison;
  grpc::Status compare_error = grpc::Status::OK;

  std::vector<std::string> calls();
  metrics::v1::GetRunHistoryRequest history_request();
  std::vector<metrics::v1::CompareRunsRequest> compare_requests();

  grpc::Status GetRunHistory(grpc::ServerContext*, const metrics::v1::GetRunHistoryRequest* request,
                             metrics::v1::GetRunHistoryResponse* response) override;
  grpc::Status CompareRuns(grpc::ServerContext*, const metrics::v1::CompareRunsRequest* request,
                           metrics::v1::CompareRunsResponse* response) override;
  grpc::Status GetCollapseStatus(grpc::ServerContext*,
                                 const metrics::v1::GetCollapseStatusRequest* request,
                                 metrics::v1::GetCollapseStatusResponse* response) override;

 private:
  absl::Mutex mu_;
  std::vector<std::string> calls_;
  metrics::v1::GetRunHistoryRequest history_request_;
  std::vector<metrics::v1::CompareRunsRequest> compare_requests_;
};

// Check answers `serving`.
class FakeHealth final : public grpc::health::v1::Health::Service {
 public:
  bool serving = true;
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override;
};

// The services on one plaintext port of 127.0.0.1, until destroyed.
class LocalServer {
 public:
  explicit LocalServer(const std::vector<grpc::Service*>& services);
  ~LocalServer();
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

struct CliResult {
  int code = 0;
  std::string out;
  std::string err;
};

// `jepalab ARGS... --scheduler=ADDRESS --trainer=ADDRESS --metrics=ADDRESS --timeout=10`, output
// captured, stdout not a terminal.
CliResult RunCli(std::vector<std::string> args, const std::string& address);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_FAKE_SERVICES_H_
