// TrainerClient over the trainer.v1 gRPC API: one channel per trainer address.
#ifndef JEPALAB_SCHEDULER_SERVICE_SERVER_GRPC_TRAINER_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_SERVER_GRPC_TRAINER_CLIENT_H_

#include <grpcpp/channel.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_channel.h"
#include "proto/trainer.grpc.pb.h"
#include "scheduler_service/core/trainer_client.h"

namespace jepalab::scheduler {

struct GrpcTrainerClientOptions {
  // Deadline of each unary call (StartRun, CancelRun, GetRun).
  absl::Duration rpc_timeout = absl::Seconds(10);
  // TLS CA and bearer token of the channel Create opens; empty: plaintext, no token.
  common::ClientSecurity security;
};

// Thread-safe (gRPC stubs are).
class GrpcTrainerClient : public TrainerClient {
 public:
  // Channel to `address` (host:port) secured per options.security; connects lazily, so it
  // never fails here.
  static std::unique_ptr<GrpcTrainerClient> Create(const std::string& address,
                                                   const GrpcTrainerClientOptions& options = {});
  // Over an existing channel (tests use an in-process one).
  GrpcTrainerClient(std::string address, std::shared_ptr<grpc::Channel> channel,
                    const GrpcTrainerClientOptions& options = {});

  const std::string& address() const override { return address_; }
  absl::Status StartRun(const std::string& run_id, const std::string& experiment,
                        const ::jepalab::config::v1::TrainerConfig& config,
                        const std::string& config_hash,
                        const std::map<std::string, std::string>& labels, bool resume) override;
  absl::Status CancelRun(const std::string& run_id) override;
  absl::StatusOr<Run> GetRun(const std::string& run_id) override;
  absl::Status WatchRun(const std::string& run_id, const EventCallback& on_event,
                        CancelToken* cancel) override;

 private:
  const std::string address_;
  const GrpcTrainerClientOptions options_;
  std::unique_ptr<::jepalab::trainer::v1::TrainerService::Stub> stub_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_SERVER_GRPC_TRAINER_CLIENT_H_
