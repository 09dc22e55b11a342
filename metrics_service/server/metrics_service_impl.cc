#include "metrics_service/server/metrics_service_impl.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/logging.h"

namespace jepalab::metrics {
namespace {

// Failed RPCs are the caller's to handle; log them only verbosely (STYLE.md §8).
grpc::Status Finish(absl::string_view method, const absl::Status& status) {
  if (!status.ok()) VLOG(1) << method << " failed: " << status;
  return common::ToGrpcStatus(status);
}

}  // namespace

grpc::Status MetricsServiceImpl::ReportMetrics(grpc::ServerContext* /*context*/,
                                               grpc::ServerReader<v1::ReportMetricsRequest>* reader,
                                               v1::ReportMetricsResponse* response) {
  v1::ReportMetricsRequest batch;
  int64_t accepted = 0;
  for (int index = 0; reader->Read(&batch); ++index) {
    absl::StatusOr<int64_t> written = core_->ReportMetrics(batch);
    if (!written.ok()) {
      // Which batch of the stream was bad; earlier ones are durable already.
      return Finish("ReportMetrics",
                    absl::Status(written.status().code(),
                                 absl::StrCat("batch ", index, ": ", written.status().message())));
    }
    accepted += *written;
  }
  response->set_accepted_points(accepted);
  return grpc::Status::OK;
}

grpc::Status MetricsServiceImpl::RegisterRun(grpc::ServerContext* /*context*/,
                                             const v1::RegisterRunRequest* request,
                                             v1::RegisterRunResponse* response) {
  absl::StatusOr<v1::RunInfo> run = core_->RegisterRun(request->run());
  if (run.ok()) *response->mutable_run() = *std::move(run);
  return Finish("RegisterRun", run.status());
}

grpc::Status MetricsServiceImpl::UpdateRunState(grpc::ServerContext* /*context*/,
                                                const v1::UpdateRunStateRequest* request,
                                                v1::UpdateRunStateResponse* response) {
  absl::StatusOr<v1::RunInfo> run = core_->UpdateRunState(*request);
  if (run.ok()) *response->mutable_run() = *std::move(run);
  return Finish("UpdateRunState", run.status());
}

grpc::Status MetricsServiceImpl::GetRunHistory(grpc::ServerContext* /*context*/,
                                               const v1::GetRunHistoryRequest* request,
                                               v1::GetRunHistoryResponse* response) {
  absl::StatusOr<v1::GetRunHistoryResponse> history = core_->GetRunHistory(*request);
  if (history.ok()) *response = *std::move(history);
  return Finish("GetRunHistory", history.status());
}

grpc::Status MetricsServiceImpl::ListRuns(grpc::ServerContext* /*context*/,
                                          const v1::ListRunsRequest* request,
                                          v1::ListRunsResponse* response) {
  absl::StatusOr<v1::ListRunsResponse> runs = core_->ListRuns(*request);
  if (runs.ok()) *response = *std::move(runs);
  return Finish("ListRuns", runs.status());
}

grpc::Status MetricsServiceImpl::CompareRuns(grpc::ServerContext* /*context*/,
                                             const v1::CompareRunsRequest* request,
                                             v1::CompareRunsResponse* response) {
  absl::StatusOr<v1::CompareRunsResponse> comparison = core_->CompareRuns(*request);
  if (comparison.ok()) *response = *std::move(comparison);
  return Finish("CompareRuns", comparison.status());
}

}  // namespace jepalab::metrics
