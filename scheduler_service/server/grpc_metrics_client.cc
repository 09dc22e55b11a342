#include "scheduler_service/server/grpc_metrics_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <utility>

#include "common/grpc_status.h"

namespace jepalab::scheduler {
namespace {

namespace met = ::jepalab::metrics::v1;

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::microseconds(absl::ToInt64Microseconds(timeout)));
}

}  // namespace

std::unique_ptr<GrpcMetricsClient> GrpcMetricsClient::Create(
    const std::string& address, const GrpcMetricsClientOptions& options) {
  grpc::ChannelArguments args;
  // A full run history (every diagnostic series) can exceed gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return std::make_unique<GrpcMetricsClient>(
      common::CreateClientChannel(address, options.security, args), options);
}

GrpcMetricsClient::GrpcMetricsClient(std::shared_ptr<grpc::Channel> channel,
                                     const GrpcMetricsClientOptions& options)
    : options_(options), stub_(met::MetricsService::NewStub(std::move(channel))) {}

absl::StatusOr<std::vector<met::Series>> GrpcMetricsClient::GetRunHistory(
    const std::string& run_id, const std::vector<std::string>& names) {
  met::GetRunHistoryRequest request;
  request.set_run_id(run_id);
  for (const std::string& name : names) request.add_names(name);
  met::GetRunHistoryResponse response;
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  grpc::Status status = stub_->GetRunHistory(&context, request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return std::vector<met::Series>(response.series().begin(), response.series().end());
}

absl::StatusOr<CollapseSummary> GrpcMetricsClient::GetCollapseStatus(const std::string& run_id) {
  met::GetCollapseStatusRequest request;
  request.set_run_id(run_id);
  met::GetCollapseStatusResponse response;
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  grpc::Status status = stub_->GetCollapseStatus(&context, request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return SummarizeCollapse({response.detectors().begin(), response.detectors().end()});
}

absl::Status GrpcMetricsClient::WatchCollapseEvents(const std::vector<std::string>& run_ids,
                                                    const CollapseEventCallback& on_event,
                                                    CancelToken* cancel) {
  met::WatchCollapseEventsRequest request;
  for (const std::string& run_id : run_ids) request.add_run_ids(run_id);
  request.set_include_current(true);
  grpc::ClientContext context;  // no deadline: it lasts as long as the runs it follows
  // Cancelling the context (also from inside on_event) ends Read.
  cancel->SetOnCancel([&context] { context.TryCancel(); });
  std::unique_ptr<grpc::ClientReader<met::CollapseEvent>> reader =
      stub_->WatchCollapseEvents(&context, request);
  met::CollapseEvent event;
  while (!cancel->cancelled() && reader->Read(&event)) on_event(event);
  grpc::Status status = reader->Finish();
  cancel->ClearOnCancel();  // before `context` goes away
  if (cancel->cancelled()) return absl::CancelledError("watch cancelled");
  return common::FromGrpcStatus(status);
}

}  // namespace jepalab::scheduler
