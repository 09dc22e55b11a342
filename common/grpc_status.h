// The single conversion between absl::Status and grpc::Status at the RPC edge.
#ifndef JEPALAB_COMMON_GRPC_STATUS_H_
#define JEPALAB_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace jepalab::common {

// Same code (absl and gRPC codes are numerically equal); the message is truncated to 4 KiB.
grpc::Status ToGrpcStatus(const absl::Status& status);

absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_GRPC_STATUS_H_
