// Plumbing shared by the CLI's command files: channels, deadlines, RPC error reports, file
// reads, shared flags.
#ifndef JEPALAB_CLI_RPC_HELPERS_H_
#define JEPALAB_CLI_RPC_HELPERS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <ostream>
#include <string>

#include "cli/arg_parser.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

// A channel to `address` with the endpoints' TLS/token settings and a 64 MiB receive limit.
std::shared_ptr<grpc::Channel> Connect(const std::string& address, const Endpoints& e);

void SetDeadline(grpc::ClientContext& context, double seconds);

// Prints "<what> (<address>): <CODE>: <message>" (and a hint when the service is down) and
// returns exit code 1.
int ReportRpcError(std::ostream& err, const std::string& what, const std::string& address,
                   const grpc::Status& status);

// The whole file; false if it cannot be read.
bool ReadFile(const std::string& path, std::string* text);

// --priority (0 when absent) into `*priority`; false after printing why a value is not one.
bool ParsePriority(const ParsedArgs& args, std::ostream& err, int* priority);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_RPC_HELPERS_H_
