#include "common/grpc_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "common/rpc_auth.h"

namespace jepalab::common {
namespace {

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

class BearerTokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
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
                                                   const grpc::ChannelArguments& args) {
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
