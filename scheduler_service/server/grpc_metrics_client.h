// MetricsClient over the metrics.v1 gRPC API (GetRunHistory, GetCollapseStatus,
// WatchCollapseEvents).
#ifndef JEPALAB_SCHEDULER_SERVICE_SERVER_GRPC_METRICS_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_SERVER_GRPC_METRICS_CLIENT_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_channel.h"
#include "proto/metrics.grpc.pb.h"
#include "scheduler_service/core/metrics_client.h"

namespace jepalab::scheduler {

struct GrpcMetricsClientOptions {
  // Deadline of each unary call (a WatchCollapseEvents stream has none).
  absl::Duration rpc_timeout = absl::Seconds(30);
  // TLS CA and bearer token of the channel Create opens; empty: plaintext, no token.
  common::ClientSecurity security;
};

// Thread-safe (gRPC stubs are).
class GrpcMetricsClient : public MetricsClient {
 public:
  // Channel to `address` (host:port) secured per options.security; connects lazily, so it
  // never fails here.
  static std::unique_ptr<GrpcMetricsClient> Create(const std::string& address,
                                                   const GrpcMetricsClientOptions& options = {});
  // Over an existing channel (tests use an in-process one).
  GrpcMetricsClient(std::shared_ptr<grpc::Channel> channel,
                    const GrpcMetricsClientOptions& options = {});

  absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> GetRunHistory(
      const std::string& run_id, const std::vector<std::string>& names) override;
  absl::StatusOr<CollapseSummary> GetCollapseStatus(const std::string& run_id) override;
  // Asks for include_current; `cancel` cancels the call's context.
  absl::Status WatchCollapseEvents(const std::vector<std::string>& run_ids,
                                   const CollapseEventCallback& on_event,
                                   CancelToken* cancel) override;

 private:
  const GrpcMetricsClientOptions options_;
  std::unique_ptr<::jepalab::metrics::v1::MetricsService::Stub> stub_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_SERVER_GRPC_METRICS_CLIENT_H_
