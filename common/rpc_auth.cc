#include "common/rpc_auth.h"

#include <grpcpp/server_context.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace jepalab::common {
namespace {

absl::StatusOr<std::string> ReadWholeFile(absl::string_view field, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(field, ": ", text.status().message()));
  }
  return text;
}

// Equal-length comparison that does not stop at the first difference.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(absl::string_view field, const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(field, path);
  if (!text.ok()) return text.status();
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": token file ", path, " is empty"));
  }
  return token;
}

absl::StatusOr<std::string> ReadPemFile(absl::string_view field, const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(field, path);
  if (!text.ok()) return text.status();
  if (absl::StripAsciiWhitespace(*text).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": file ", path, " is empty"));
  }
  return text;
}

absl::StatusOr<RpcAuthorizer> RpcAuthorizer::FromTokenFile(absl::string_view field,
                                                           const std::string& path) {
  if (path.empty()) return RpcAuthorizer();
  absl::StatusOr<std::string> token = ReadTokenFile(field, path);
  if (!token.ok()) return token.status();
  return RpcAuthorizer(*std::move(token));
}

absl::Status RpcAuthorizer::Authorize(const grpc::ServerContextBase& context,
                                      absl::string_view rpc) const {
  if (token_.empty()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAuthorizationMetadataKey);
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        absl::StrCat(rpc, ": missing \"authorization: Bearer <token>\" metadata"));
  }
  const absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWith(value, kBearerPrefix) ||
      !ConstantTimeEquals(value.substr(sizeof(kBearerPrefix) - 1), token_)) {
    return absl::UnauthenticatedError(absl::StrCat(rpc, ": invalid bearer token"));
  }
  return absl::OkStatus();
}

}  // namespace jepalab::common
