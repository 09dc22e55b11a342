// Client channels the way every jepa-lab client opens them: plaintext or TLS (server verified
// against a CA file) and, when a token is configured, "authorization: Bearer <token>" on every
// call (a client interceptor, so it works with and without TLS).
#ifndef JEPALAB_COMMON_GRPC_CHANNEL_H_
#define JEPALAB_COMMON_GRPC_CHANNEL_H_

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>

#include "absl/status/statusor.h"

namespace jepalab::common {

// Flag values: file paths, empty when unset.
struct ClientSecurityOptions {
  std::string tls_ca_file;      // set: TLS, the server certificate must chain to this CA
  std::string auth_token_file;  // set: every call carries the token in this file
};

// What the files held. Empty fields: plaintext, no token.
struct ClientSecurity {
  std::string tls_ca_pem;
  std::string token;
};

// Reads the files. NotFound / InvalidArgument naming the flag (tls_ca_file, auth_token_file).
absl::StatusOr<ClientSecurity> LoadClientSecurity(const ClientSecurityOptions& options);

// Interceptor factories that add the bearer token to every call; empty when `token` is.
std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
BearerTokenInterceptors(const std::string& token);

// A lazily connecting channel to `address` (host:port); never fails here.
std::shared_ptr<grpc::Channel> CreateClientChannel(
    const std::string& address, const ClientSecurity& security,
    const grpc::ChannelArguments& args = grpc::ChannelArguments());

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_GRPC_CHANNEL_H_
