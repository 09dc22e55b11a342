#include "cli/latest_metrics.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "cli/rpc_helpers.h"
#include "common/metric_names.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab::cli {

namespace met = ::jepalab::metrics::v1;

absl::StatusOr<std::map<std::string, RunMetrics>> FetchLatestMetrics(
    const std::vector<std::string>& run_ids, const std::vector<std::string>& names,
    const Endpoints& e) {
  std::map<std::string, RunMetrics> latest;
  if (run_ids.empty()) return latest;
  auto stub = met::MetricsService::NewStub(Connect(e.metrics, e));
  for (const std::string& run_id : run_ids) {
    // One run per request: CompareRuns without names keeps only the metrics every listed run
    // has, and one unknown run would fail the whole request.
    met::CompareRunsRequest request;
    request.add_run_ids(run_id);
    for (const std::string& name : names) request.add_names(name);
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    met::CompareRunsResponse response;
    const grpc::Status status = stub->CompareRuns(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) continue;  // not reported yet
    if (!status.ok()) return RpcError("metrics CompareRuns", e.metrics, status);
    for (const met::RunComparison& run : response.runs()) {
      RunMetrics& values = latest[run.run().run_id().empty() ? run_id : run.run().run_id()];
      for (const met::MetricSummary& summary : run.metrics()) {
        if (summary.count() > 0) values[summary.name()] = summary.last();
      }
    }
  }
  return latest;
}

std::string LatestMetricsNote(const absl::Status& status, const Endpoints& e) {
  const std::string message(status.message());
  const std::string first_line = message.substr(0, message.find('\n'));
  // RpcError's message names the address already; anything else gets it here.
  if (first_line.find(e.metrics) != std::string::npos) {
    return absl::StrCat("jepalab: note: latest metrics not shown: ", first_line);
  }
  return absl::StrCat("jepalab: note: latest metrics not shown: metrics_service (", e.metrics,
                      "): ", first_line);
}

std::optional<double> LatestLoss(const std::map<std::string, RunMetrics>& latest,
                                 const std::string& run_id) {
  auto run = latest.find(run_id);
  if (run == latest.end()) return std::nullopt;
  auto loss = run->second.find(metric_names::kLossTotal);
  if (loss == run->second.end()) return std::nullopt;
  return loss->second;
}

std::map<std::string, RunMetrics> LossFetcher::Fetch(const std::vector<std::string>& run_ids) {
  if (failed_ || run_ids.empty()) return {};
  absl::StatusOr<std::map<std::string, RunMetrics>> latest =
      FetchLatestMetrics(run_ids, {std::string(metric_names::kLossTotal)}, e_);
  if (!latest.ok()) {
    err_ << LatestMetricsNote(latest.status(), e_) << "\n";
    failed_ = true;
    return {};
  }
  return *std::move(latest);
}

}  // namespace jepalab::cli
