#include "metrics_service/server/metrics_service_impl.h"

#include <deque>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"
#include "common/grpc_status.h"
#include "common/logging.h"

namespace jepalab::metrics {
namespace {

// Failed RPCs are the caller's to handle; log them only verbosely (STYLE.md §8).
grpc::Status Finish(absl::string_view method, const absl::Status& status) {
  if (!status.ok()) VLOG(1) << method << " failed: " << status;
  return common::ToGrpcStatus(status);
}

// One WatchCollapseEvents call: a subscription whose events are queued and written one at a
// time. Deletes itself in OnDone, after unsubscribing (so no callback can follow).
class CollapseEventWriter final : public grpc::ServerWriteReactor<v1::CollapseEvent> {
 public:
  CollapseEventWriter(MetricsCore* core, const v1::WatchCollapseEventsRequest& request)
      : core_(core) {
    // include_current events arrive synchronously, before Subscribe returns.
    absl::StatusOr<int64_t> id = core_->WatchCollapseEvents(
        request, [this](const v1::CollapseEvent& event) { Enqueue(event); });
    absl::MutexLock lock(&mu_);
    if (!id.ok()) {
      VLOG(1) << "WatchCollapseEvents failed: " << id.status();
      FinishLocked(common::ToGrpcStatus(id.status()));
      return;
    }
    subscription_ = *id;
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    absl::optional<int64_t> subscription;
    {
      absl::MutexLock lock(&mu_);
      subscription = subscription_;
    }
    if (subscription.has_value()) core_->UnwatchCollapseEvents(*subscription);
    delete this;
  }

 private:
  void Enqueue(const v1::CollapseEvent& event) {
    absl::MutexLock lock(&mu_);
    if (finish_status_.has_value()) return;
    if (queue_.size() >= MetricsServiceImpl::kMaxQueuedEvents) {
      FinishLocked(common::ToGrpcStatus(absl::ResourceExhaustedError(
          "WatchCollapseEvents: the client fell too far behind; re-subscribe")));
      return;
    }
    queue_.push_back(event);
    WriteNextLocked();
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_) return;
    if (finish_status_.has_value()) {
      if (!finished_) {
        finished_ = true;
        Finish(*finish_status_);
      }
      return;
    }
    if (queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  // Finishes once no write is in flight.
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finish_status_.has_value()) finish_status_ = std::move(status);
    queue_.clear();
    WriteNextLocked();
  }

  MetricsCore* const core_;
  absl::Mutex mu_;
  absl::optional<int64_t> subscription_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::CollapseEvent> queue_ ABSL_GUARDED_BY(mu_);
  v1::CollapseEvent current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  absl::optional<grpc::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerWriteReactor<v1::CollapseEvent>* MetricsServiceImpl::WatchCollapseEvents(
    grpc::CallbackServerContext* /*context*/, const v1::WatchCollapseEventsRequest* request) {
  return new CollapseEventWriter(core_, *request);
}

grpc::Status MetricsServiceImpl::GetCollapseStatus(grpc::ServerContext* /*context*/,
                                                   const v1::GetCollapseStatusRequest* request,
                                                   v1::GetCollapseStatusResponse* response) {
  absl::StatusOr<v1::GetCollapseStatusResponse> status = core_->GetCollapseStatus(*request);
  if (status.ok()) *response = *std::move(status);
  return Finish("GetCollapseStatus", status.status());
}

grpc::Status MetricsServiceImpl::ReportMetrics(grpc::ServerContext* context,
                                               grpc::ServerReader<v1::ReportMetricsRequest>* reader,
                                               v1::ReportMetricsResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "ReportMetrics"); !auth.ok()) {
    return Finish("ReportMetrics", auth);
  }
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

grpc::Status MetricsServiceImpl::RegisterRun(grpc::ServerContext* context,
                                             const v1::RegisterRunRequest* request,
                                             v1::RegisterRunResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "RegisterRun"); !auth.ok()) {
    return Finish("RegisterRun", auth);
  }
  absl::StatusOr<v1::RunInfo> run = core_->RegisterRun(request->run());
  if (run.ok()) *response->mutable_run() = *std::move(run);
  return Finish("RegisterRun", run.status());
}

grpc::Status MetricsServiceImpl::UpdateRunState(grpc::ServerContext* context,
                                                const v1::UpdateRunStateRequest* request,
                                                v1::UpdateRunStateResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "UpdateRunState"); !auth.ok()) {
    return Finish("UpdateRunState", auth);
  }
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
