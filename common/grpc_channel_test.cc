#include "common/grpc_channel.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/rpc_auth.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

std::string WriteFile(const std::string& name, const std::string& text) {
  static const std::string* const dir =
      new std::string(jepalab::testing::MakeTempDir("grpc_channel_"));
  const std::string path = *dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(LoadClientSecurityTest, NothingSetIsPlaintextWithoutToken) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(ClientSecurity security, LoadClientSecurity({}));
  EXPECT_TRUE(security.tls_ca_pem.empty());
  EXPECT_TRUE(security.token.empty());
  EXPECT_TRUE(BearerTokenInterceptors("").empty());
}

TEST(LoadClientSecurityTest, ReadsBothFiles) {
  ClientSecurityOptions options;
  options.tls_ca_file = WriteFile("ca.pem", "-----BEGIN CERTIFICATE-----\nx\n");
  options.auth_token_file = WriteFile("token", "tok\n");
  JEPALAB_ASSERT_OK_AND_ASSIGN(ClientSecurity security, LoadClientSecurity(options));
  EXPECT_EQ(security.tls_ca_pem, "-----BEGIN CERTIFICATE-----\nx\n");
  EXPECT_EQ(security.token, "tok");
  EXPECT_EQ(BearerTokenInterceptors(security.token).size(), 1u);
}

TEST(LoadClientSecurityTest, BadFilesNameTheFlag) {
  ClientSecurityOptions missing_ca;
  missing_ca.tls_ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(LoadClientSecurity(missing_ca),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("tls_ca_file")));
  ClientSecurityOptions empty_ca;
  empty_ca.tls_ca_file = WriteFile("empty_ca.pem", "");
  EXPECT_THAT(LoadClientSecurity(empty_ca),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls_ca_file")));
  ClientSecurityOptions empty_token;
  empty_token.auth_token_file = WriteFile("empty_token", "  \n");
  EXPECT_THAT(LoadClientSecurity(empty_token),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("auth_token_file")));
}

TEST(KeepaliveTest, DefaultsAreValidAndBadValuesNameTheFlag) {
  EXPECT_THAT(ValidateKeepalive({}), IsOk());
  EXPECT_THAT(ValidateKeepalive({absl::Milliseconds(999), absl::Seconds(5)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("keepalive_time: must be >= 1s, got 999ms")));
  EXPECT_THAT(SetClientKeepalive({absl::Seconds(10), absl::ZeroDuration()}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keepalive_timeout")));
}

// A server whose every method answers with RpcAuthorizer::Authorize's verdict on the call.
class AuthorizingService : public grpc::CallbackGenericService {
 public:
  explicit AuthorizingService(RpcAuthorizer authorizer) : authorizer_(std::move(authorizer)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(const absl::Status& status) {
        Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                            std::string(status.message())));
      }
      void OnDone() override { delete this; }
    };
    return new Reactor(authorizer_.Authorize(*context, "Echo"));
  }

 private:
  const RpcAuthorizer authorizer_;
};

class BearerTokenChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  // One unary call over CreateClientChannel with `token` (none when empty).
  grpc::Status Call(const std::string& token) {
    ClientSecurity security;
    security.token = token;
    auto channel = CreateClientChannel("127.0.0.1:" + std::to_string(port_), security);
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);  // a default ByteBuffer is no message at all
    grpc::ByteBuffer response;
    grpc::Status result;
    absl::Notification done;
    stub.UnaryCall(&context, "/test.Test/Echo", grpc::StubOptions(), &request, &response,
                   [&](grpc::Status status) {
                     result = std::move(status);
                     done.Notify();
                   });
    done.WaitForNotification();
    return result;
  }

  AuthorizingService service_{RpcAuthorizer("the-token")};
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(BearerTokenChannelTest, TheTokenReachesTheServerAsBearerMetadata) {
  const grpc::Status status = Call("the-token");
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(BearerTokenChannelTest, NoOrWrongTokenIsUnauthenticated) {
  const grpc::Status none = Call("");
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(none.error_message(), HasSubstr("Echo: missing"));
  const grpc::Status wrong = Call("other-token");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), HasSubstr("Echo: invalid bearer token"));
}

}  // namespace
}  // namespace jepalab::common
