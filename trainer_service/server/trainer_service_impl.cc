#include "trainer_service/server/trainer_service_impl.h"

#include <vector>

#include "common/grpc_status.h"

namespace jepalab::trainer {

using common::ToGrpcStatus;

grpc::Status TrainerServiceImpl::StartRun(grpc::ServerContext* context,
                                          const v1::StartRunRequest* request,
                                          v1::StartRunResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "StartRun"); !auth.ok()) {
    return ToGrpcStatus(auth);
  }
  absl::StatusOr<Run> run = manager_->StartRun(*request);
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response->mutable_run() = *std::move(run);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::CancelRun(grpc::ServerContext* context,
                                           const v1::CancelRunRequest* request,
                                           v1::CancelRunResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "CancelRun"); !auth.ok()) {
    return ToGrpcStatus(auth);
  }
  absl::StatusOr<Run> run = manager_->CancelRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response->mutable_run() = *std::move(run);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::GetRun(grpc::ServerContext*, const v1::GetRunRequest* request,
                                        v1::GetRunResponse* response) {
  absl::StatusOr<Run> run = manager_->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response->mutable_run() = *std::move(run);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::ListRuns(grpc::ServerContext*, const v1::ListRunsRequest* request,
                                          v1::ListRunsResponse* response) {
  std::vector<common::v1::RunState> states;
  for (int state : request->states()) states.push_back(static_cast<common::v1::RunState>(state));
  for (Run& run : manager_->ListRuns(request->experiment(), states))
    *response->add_runs() = std::move(run);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::StreamRunEvents(grpc::ServerContext* context,
                                                 const v1::StreamRunEventsRequest* request,
                                                 grpc::ServerWriter<v1::RunEvent>* writer) {
  auto subscription = manager_->Subscribe(request->run_id(), request->include_metrics());
  if (!subscription.ok()) return ToGrpcStatus(subscription.status());
  v1::RunEvent event;
  while (!context->IsCancelled()) {
    switch ((*subscription)->Next(&event, poll_)) {
      case RunSubscription::Result::kEvent:
        if (!writer->Write(event)) return grpc::Status::OK;  // the client went away
        break;
      case RunSubscription::Result::kTimeout:
        break;
      case RunSubscription::Result::kEnd:
        return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

}  // namespace jepalab::trainer
