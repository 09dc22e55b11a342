// gRPC adapter of jepalab.trainer.v1.TrainerService over RunManager: unpack, call, pack,
// convert the status (ToGrpcStatus). No logic of its own.
#ifndef JEPALAB_TRAINER_SERVICE_SERVER_TRAINER_SERVICE_IMPL_H_
#define JEPALAB_TRAINER_SERVICE_SERVER_TRAINER_SERVICE_IMPL_H_

#include "absl/time/time.h"
#include "common/rpc_auth.h"
#include "proto/trainer.grpc.pb.h"
#include "trainer_service/core/run_manager.h"

namespace jepalab::trainer {

// Thread-safe. `manager` is not owned and must outlive the service.
class TrainerServiceImpl final : public v1::TrainerService::Service {
 public:
  // `authorizer` guards the mutating RPCs (StartRun, CancelRun): without the bearer token they
  // fail UNAUTHENTICATED. GetRun, ListRuns and StreamRunEvents stay open.
  explicit TrainerServiceImpl(RunManager* manager,
                              absl::Duration stream_poll_interval = absl::Milliseconds(200),
                              common::RpcAuthorizer authorizer = common::RpcAuthorizer())
      : manager_(manager), poll_(stream_poll_interval), authorizer_(std::move(authorizer)) {}

  grpc::Status StartRun(grpc::ServerContext* context, const v1::StartRunRequest* request,
                        v1::StartRunResponse* response) override;
  grpc::Status CancelRun(grpc::ServerContext* context, const v1::CancelRunRequest* request,
                         v1::CancelRunResponse* response) override;
  grpc::Status GetRun(grpc::ServerContext* context, const v1::GetRunRequest* request,
                      v1::GetRunResponse* response) override;
  grpc::Status ListRuns(grpc::ServerContext* context, const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override;
  // Streams until the terminal state event was sent or the client went away.
  grpc::Status StreamRunEvents(grpc::ServerContext* context,
                               const v1::StreamRunEventsRequest* request,
                               grpc::ServerWriter<v1::RunEvent>* writer) override;

 private:
  RunManager* manager_;
  const absl::Duration poll_;
  const common::RpcAuthorizer authorizer_;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_SERVER_TRAINER_SERVICE_IMPL_H_
