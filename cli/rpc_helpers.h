// Plumbing shared by the CLI's command files: channels, deadlines, RPC errors, file reads,
// shared flags.
#ifndef JEPALAB_CLI_RPC_HELPERS_H_
#define JEPALAB_CLI_RPC_HELPERS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/arg_parser.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

// A channel to `address` with the endpoints' TLS/token settings and a 64 MiB receive limit.
std::shared_ptr<grpc::Channel> Connect(const std::string& address, const Endpoints& e);

void SetDeadline(grpc::ClientContext& context, double seconds);

// The failed RPC as a status of its code: "<what> (<address>): <CODE>: <message>", and a hint on a
// second line when the service is down.
absl::Status RpcError(const std::string& what, const std::string& address,
                      const grpc::Status& status);

// One unary RPC with the endpoints' deadline, e.g.
//   CallUnary(e.scheduler, e, "scheduler CancelPlan", &sched::SchedulerService::Stub::CancelPlan,
//             request, &response)
// A failure is RpcError(what, address, status).
template <typename Stub, typename Request, typename Response>
absl::Status CallUnary(const std::string& address, const Endpoints& e, const std::string& what,
                       grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                    Response*),
                       const Request& request, Response* response) {
  Stub stub(Connect(address, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  const grpc::Status status = (stub.*method)(&context, request, response);
  if (!status.ok()) return RpcError(what, address, status);
  return absl::OkStatus();
}

// Reads the whole file into *text; "cannot read <what> <path>" with common::ReadFile's code if
// it cannot.
absl::Status ReadInputFile(const std::string& what, const std::string& path, std::string* text);

// --priority (0 when absent). A UsageError when the value is not an integer.
absl::StatusOr<int> ParsePriority(const ParsedArgs& args);
// Every --seed, in order. A UsageError naming the first that is not an integer.
absl::StatusOr<std::vector<int64_t>> ParseSeeds(const ParsedArgs& args);
// --max_points, `fallback` when absent. A UsageError unless a non-negative integer.
absl::StatusOr<int> ParseMaxPoints(const ParsedArgs& args, int fallback);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_RPC_HELPERS_H_
