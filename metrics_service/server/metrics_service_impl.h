// gRPC adapter of metrics_service: unpacks requests, calls MetricsCore, packs responses and
// converts statuses. No logic of its own; validation lives in the core.
#ifndef JEPALAB_METRICS_SERVICE_SERVER_METRICS_SERVICE_IMPL_H_
#define JEPALAB_METRICS_SERVICE_SERVER_METRICS_SERVICE_IMPL_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>

#include "common/rpc_auth.h"
#include "metrics_service/core/metrics_core.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {

// MetricsService over a MetricsCore (not owned; it must outlive this). Sync API, except the
// long-lived WatchCollapseEvents stream, which is a callback reactor (no thread per watcher).
// Thread-safe because the core is.
class MetricsServiceImpl final : public v1::MetricsService::WithCallbackMethod_WatchCollapseEvents<
                                     v1::MetricsService::Service> {
 public:
  // `authorizer` guards the mutating RPCs (ReportMetrics, RegisterRun, UpdateRunState): without
  // the bearer token they fail UNAUTHENTICATED before reading anything. Queries stay open.
  explicit MetricsServiceImpl(MetricsCore* core,
                              common::RpcAuthorizer authorizer = common::RpcAuthorizer())
      : core_(core), authorizer_(std::move(authorizer)) {}

  // Each batch is validated and written as it arrives. The first bad batch ends the call with
  // its error (prefixed "batch <i>: "); batches before it stay written.
  grpc::Status ReportMetrics(grpc::ServerContext* context,
                             grpc::ServerReader<v1::ReportMetricsRequest>* reader,
                             v1::ReportMetricsResponse* response) override;
  grpc::Status RegisterRun(grpc::ServerContext* context, const v1::RegisterRunRequest* request,
                           v1::RegisterRunResponse* response) override;
  grpc::Status UpdateRunState(grpc::ServerContext* context,
                              const v1::UpdateRunStateRequest* request,
                              v1::UpdateRunStateResponse* response) override;
  grpc::Status GetRunHistory(grpc::ServerContext* context, const v1::GetRunHistoryRequest* request,
                             v1::GetRunHistoryResponse* response) override;
  grpc::Status ListRuns(grpc::ServerContext* context, const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override;
  grpc::Status CompareRuns(grpc::ServerContext* context, const v1::CompareRunsRequest* request,
                           v1::CompareRunsResponse* response) override;
  grpc::Status GetCollapseStatus(grpc::ServerContext* context,
                                 const v1::GetCollapseStatusRequest* request,
                                 v1::GetCollapseStatusResponse* response) override;
  // Streams the core's collapse events matching the request until the client cancels or the
  // server shuts down. A bad filter ends the call with InvalidArgument; a client that falls
  // more than kMaxQueuedEvents behind is ended with ResourceExhausted.
  grpc::ServerWriteReactor<v1::CollapseEvent>* WatchCollapseEvents(
      grpc::CallbackServerContext* context, const v1::WatchCollapseEventsRequest* request) override;

  static constexpr size_t kMaxQueuedEvents = 10000;

 private:
  MetricsCore* const core_;
  const common::RpcAuthorizer authorizer_;
};

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_SERVER_METRICS_SERVICE_IMPL_H_
