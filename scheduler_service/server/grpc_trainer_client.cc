#include "scheduler_service/server/grpc_trainer_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace jepalab::scheduler {
namespace {

namespace tv1 = ::jepalab::trainer::v1;

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::microseconds(absl::ToInt64Microseconds(timeout)));
}

// Keeps the code, names the trainer (STYLE.md §3: prefix context crossing a layer).
absl::Status FromRpc(const grpc::Status& status, const std::string& address,
                     absl::string_view rpc) {
  absl::Status converted = common::FromGrpcStatus(status);
  if (converted.ok()) return converted;
  return absl::Status(converted.code(),
                      absl::StrCat("trainer ", address, " ", rpc, ": ", converted.message()));
}

}  // namespace

std::unique_ptr<GrpcTrainerClient> GrpcTrainerClient::Create(
    const std::string& address, const GrpcTrainerClientOptions& options) {
  // gRPC's default reconnect backoff grows to 2 minutes; a restarted trainer should get runs
  // again within seconds.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return std::make_unique<GrpcTrainerClient>(
      address, common::CreateClientChannel(address, options.security, args), options);
}

GrpcTrainerClient::GrpcTrainerClient(std::string address, std::shared_ptr<grpc::Channel> channel,
                                     const GrpcTrainerClientOptions& options)
    : address_(std::move(address)),
      options_(options),
      stub_(tv1::TrainerService::NewStub(std::move(channel))) {}

absl::Status GrpcTrainerClient::StartRun(const std::string& run_id, const std::string& experiment,
                                         const ::jepalab::config::v1::TrainerConfig& config,
                                         const std::string& config_hash,
                                         const std::map<std::string, std::string>& labels,
                                         bool resume) {
  tv1::StartRunRequest request;
  request.set_resume(resume);
  request.set_run_id(run_id);
  request.set_experiment(experiment);
  *request.mutable_config() = config;
  request.set_config_hash(config_hash);
  for (const auto& [key, value] : labels) (*request.mutable_labels())[key] = value;
  tv1::StartRunResponse response;
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  return FromRpc(stub_->StartRun(&context, request, &response), address_, "StartRun");
}

absl::Status GrpcTrainerClient::CancelRun(const std::string& run_id) {
  tv1::CancelRunRequest request;
  request.set_run_id(run_id);
  tv1::CancelRunResponse response;
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  return FromRpc(stub_->CancelRun(&context, request, &response), address_, "CancelRun");
}

absl::StatusOr<TrainerClient::Run> GrpcTrainerClient::GetRun(const std::string& run_id) {
  tv1::GetRunRequest request;
  request.set_run_id(run_id);
  tv1::GetRunResponse response;
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  absl::Status status = FromRpc(stub_->GetRun(&context, request, &response), address_, "GetRun");
  if (!status.ok()) return status;
  return std::move(*response.mutable_run());
}

absl::Status GrpcTrainerClient::WatchRun(const std::string& run_id, const EventCallback& on_event,
                                         CancelToken* cancel) {
  tv1::StreamRunEventsRequest request;
  request.set_run_id(run_id);
  // State and progress only, as TrainerClient promises: they drive the scheduler, which keeps
  // no metrics (metrics_service owns them).
  request.set_include_metrics(false);
  grpc::ClientContext context;  // no deadline: a run can take days
  cancel->SetOnCancel([&context] { context.TryCancel(); });
  std::unique_ptr<grpc::ClientReader<tv1::RunEvent>> reader =
      stub_->StreamRunEvents(&context, request);
  tv1::RunEvent event;
  while (reader->Read(&event)) on_event(event);
  grpc::Status status = reader->Finish();
  cancel->ClearOnCancel();  // before `context` goes away
  if (cancel->cancelled())
    return absl::CancelledError(absl::StrCat("watch of ", run_id, " cancelled"));
  return FromRpc(status, address_, "StreamRunEvents");
}

}  // namespace jepalab::scheduler
