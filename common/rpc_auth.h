// Bearer-token authentication of mutating RPCs, shared by every jepa-lab service and client.
// Servers call RpcAuthorizer::Authorize first thing in each mutating handler (the list of those
// handlers per service is in docs/security.md); clients attach the token with
// common/grpc_channel.h. Read-only RPCs and the health service stay open by design.
#ifndef JEPALAB_COMMON_RPC_AUTH_H_
#define JEPALAB_COMMON_RPC_AUTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace jepalab::common {

// Metadata key and value prefix of the token: "authorization: Bearer <token>".
inline constexpr char kAuthorizationMetadataKey[] = "authorization";
inline constexpr char kBearerPrefix[] = "Bearer ";

// Reads a secret (token) file: surrounding whitespace is dropped. `field` names the flag in
// errors. NotFound if unreadable, InvalidArgument if empty after trimming.
absl::StatusOr<std::string> ReadTokenFile(absl::string_view field, const std::string& path);

// Reads a whole file (PEM certificates, keys). NotFound if unreadable, InvalidArgument if empty.
absl::StatusOr<std::string> ReadPemFile(absl::string_view field, const std::string& path);

// Checks the bearer token of a call. Default-constructed (or with an empty token) it lets every
// call through. Copyable, immutable, thread-safe.
class RpcAuthorizer {
 public:
  RpcAuthorizer() = default;
  explicit RpcAuthorizer(std::string token) : token_(std::move(token)) {}

  // Empty `path`: an open authorizer. Otherwise the token in the file (see ReadTokenFile),
  // errors naming `field`.
  static absl::StatusOr<RpcAuthorizer> FromTokenFile(absl::string_view field,
                                                     const std::string& path);

  bool enabled() const { return !token_.empty(); }

  // OK when disabled or when `context` carries "authorization: Bearer <token>"; otherwise
  // Unauthenticated naming `rpc` (never the expected token). Compares in constant time.
  absl::Status Authorize(const grpc::ServerContextBase& context, absl::string_view rpc) const;

 private:
  std::string token_;
};

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_RPC_AUTH_H_
