#include "common/grpc_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/base/const_init.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc_auth.h"

namespace jepalab::common {
namespace {

ABSL_CONST_INIT absl::Mutex keepalive_mu(absl::kConstInit);
ABSL_CONST_INIT KeepaliveOptions client_keepalive ABSL_GUARDED_BY(keepalive_mu);

int Millis(absl::Duration d) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT_MAX));
}

bool HasArg(const grpc::ChannelArguments& args, const char* key) {
  const grpc_channel_args c_args = args.c_channel_args();
  for (size_t i = 0; i < c_args.num_args; ++i) {
    if (std::strcmp(c_args.args[i].key, key) == 0) return true;
  }
  return false;
}

class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string& value) : value_(value) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({kAuthorizationMetadataKey, value_});
    }
    methods->Proceed();
  }

 private:
  const std::string value_;
};

class BearerTokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : value_(absl::StrCat(kBearerPrefix, token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerTokenInterceptor(value_);
  }

 private:
  const std::string value_;
};

}  // namespace

absl::Status ValidateKeepalive(const KeepaliveOptions& keepalive) {
  if (keepalive.time < kMinKeepaliveTime) {
    return absl::InvalidArgumentError(
        absl::StrCat("keepalive_time: must be >= ", absl::FormatDuration(kMinKeepaliveTime),
                     ", got ", absl::FormatDuration(keepalive.time)));
  }
  if (keepalive.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("keepalive_timeout: must be > 0, got ",
                                                   absl::FormatDuration(keepalive.timeout)));
  }
  return absl::OkStatus();
}

absl::Status SetClientKeepalive(const KeepaliveOptions& keepalive) {
  if (absl::Status valid = ValidateKeepalive(keepalive); !valid.ok()) return valid;
  absl::MutexLock lock(&keepalive_mu);
  client_keepalive = keepalive;
  return absl::OkStatus();
}

absl::StatusOr<ClientSecurity> LoadClientSecurity(const ClientSecurityOptions& options) {
  ClientSecurity security;
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadPemFile("tls_ca_file", options.tls_ca_file);
    if (!pem.ok()) return pem.status();
    security.tls_ca_pem = *std::move(pem);
  }
  if (!options.auth_token_file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile("auth_token_file", options.auth_token_file);
    if (!token.ok()) return token.status();
    security.token = *std::move(token);
  }
  return security;
}

std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
BearerTokenInterceptors(const std::string& token) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  if (!token.empty()) factories.push_back(std::make_unique<BearerTokenInterceptorFactory>(token));
  return factories;
}

std::shared_ptr<grpc::Channel> CreateClientChannel(const std::string& address,
                                                   const ClientSecurity& security,
                                                   const grpc::ChannelArguments& caller_args) {
  grpc::ChannelArguments args = caller_args;
  if (!HasArg(args, GRPC_ARG_KEEPALIVE_TIME_MS)) {
    KeepaliveOptions keepalive;
    {
      absl::MutexLock lock(&keepalive_mu);
      keepalive = client_keepalive;
    }
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(keepalive.time));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(keepalive.timeout));
    // Idle channels too, so a dead connection is replaced before the next call needs it.
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // gRPC's default stops after 2 pings with no data sent: a quiet stream would go unwatched.
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security.tls_ca_pem.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.tls_ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  if (security.token.empty()) return grpc::CreateCustomChannel(address, credentials, args);
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, credentials, args, BearerTokenInterceptors(security.token));
}

}  // namespace jepalab::common
