// Client channels the way every jepa-lab client opens them: plaintext or TLS (server verified
// against a CA file) and, when a token is configured, "authorization: Bearer <token>" on every
// call (a client interceptor, so it works with and without TLS); HTTP/2 keepalive on every channel.
#ifndef JEPALAB_COMMON_GRPC_CHANNEL_H_
#define JEPALAB_COMMON_GRPC_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace jepalab::common {

// Keepalive of client channels and servers alike: a long stream (StreamRunEvents, ReportMetrics,
// WatchCollapseEvents) may carry nothing for minutes, so without pings a frozen or vanished
// peer goes unnoticed until the call's deadline. A ping goes out after `time` without traffic;
// no answer within `timeout` closes the connection and its calls fail UNAVAILABLE.
struct KeepaliveOptions {
  absl::Duration time = absl::Seconds(10);
  absl::Duration timeout = absl::Seconds(5);
};

// The shortest `time` allowed; servers accept pings at twice this rate, so no jepa-lab client
// is sent GOAWAY (too_many_pings) for pinging at its configured rate.
inline constexpr absl::Duration kMinKeepaliveTime = absl::Seconds(1);

// InvalidArgument naming keepalive_time (< kMinKeepaliveTime) or keepalive_timeout (<= 0).
absl::Status ValidateKeepalive(const KeepaliveOptions& keepalive);

// The keepalive of every channel CreateClientChannel makes from now on in this process (before
// any call: KeepaliveOptions{}). Services call it with their --keepalive_* flags.
absl::Status SetClientKeepalive(const KeepaliveOptions& keepalive);

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

// A lazily connecting channel to `address` (host:port); never fails here. Keepalive as set by
// SetClientKeepalive unless `args` sets GRPC_ARG_KEEPALIVE_TIME_MS itself.
std::shared_ptr<grpc::Channel> CreateClientChannel(
    const std::string& address, const ClientSecurity& security,
    const grpc::ChannelArguments& args = grpc::ChannelArguments());

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_GRPC_CHANNEL_H_
