// Test harness for the end-to-end tests: the three real service binaries on 127.0.0.1 under one
// temp root (metrics, one trainer, the scheduler), gRPC stubs to each, the calls the tests
// share, and kill -9 + restart of any service on its old port and data dir.
#ifndef JEPALAB_TESTS_SERVICE_STACK_H_
#define JEPALAB_TESTS_SERVICE_STACK_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/testing/service_process.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"
#include "proto/trainer.grpc.pb.h"

namespace jepalab::testing {

struct ServiceStackOptions {
  std::vector<std::string> metrics_flags;
  std::vector<std::string> trainer_flags;
  std::vector<std::string> scheduler_flags;
};

class ServiceStack {
 public:
  // Starts metrics, trainer and scheduler (in that order) under a fresh temp root.
  static absl::StatusOr<std::unique_ptr<ServiceStack>> Start(const ServiceStackOptions& options);

  // SIGKILL, then the same binary again on the same port and data dir.
  absl::Status KillAndRestartMetrics(absl::Duration down_for = absl::ZeroDuration());
  absl::Status KillAndRestartTrainer(absl::Duration down_for = absl::ZeroDuration());
  absl::Status KillAndRestartScheduler();

  // Submits `config_path` (workspace-relative, read from runfiles) with `overrides`.
  absl::StatusOr<scheduler::v1::Experiment> Submit(const std::string& name,
                                                   const std::string& config_path,
                                                   const std::vector<std::string>& overrides);
  // The same with the whole request at hand (e.g. a stop_on_collapse policy).
  absl::StatusOr<scheduler::v1::Experiment> Submit(scheduler::v1::SubmitExperimentRequest request,
                                                   const std::string& config_path);
  absl::StatusOr<scheduler::v1::Plan> SubmitPlan(const std::string& plan_path);
  absl::StatusOr<scheduler::v1::Experiment> GetExperiment(const std::string& id);
  absl::StatusOr<scheduler::v1::Plan> GetPlan(const std::string& id);
  // Polls GetExperiment until `done` holds (an unreachable scheduler counts as not yet).
  absl::StatusOr<scheduler::v1::Experiment> WaitForExperiment(
      const std::string& id, const std::function<bool(const scheduler::v1::Experiment&)>& done,
      absl::Duration timeout);
  absl::StatusOr<scheduler::v1::Plan> WaitForPlanToFinish(const std::string& id,
                                                          absl::Duration timeout);
  // The stored points of one series.
  absl::StatusOr<std::vector<metrics::v1::SeriesPoint>> History(const std::string& run_id,
                                                                const std::string& name);
  absl::StatusOr<std::vector<trainer::v1::Run>> TrainerRuns();

  const std::string& root() const { return root_; }
  ServiceProcess& metrics() { return *metrics_; }
  ServiceProcess& trainer() { return *trainer_; }
  ServiceProcess& scheduler() { return *scheduler_; }

 private:
  explicit ServiceStack(ServiceStackOptions options, std::string root)
      : options_(std::move(options)), root_(std::move(root)) {}
  absl::Status StartMetrics(int port);
  absl::Status StartTrainer(int port);
  absl::Status StartScheduler();

  const ServiceStackOptions options_;
  const std::string root_;
  std::unique_ptr<ServiceProcess> metrics_, trainer_, scheduler_;
  std::unique_ptr<metrics::v1::MetricsService::Stub> metrics_stub_;
  std::unique_ptr<trainer::v1::TrainerService::Stub> trainer_stub_;
  std::unique_ptr<scheduler::v1::SchedulerService::Stub> scheduler_stub_;
};

// A finished experiment: terminal state and every run ended.
bool ExperimentFinished(const scheduler::v1::Experiment& experiment);

}  // namespace jepalab::testing

#endif  // JEPALAB_TESTS_SERVICE_STACK_H_
