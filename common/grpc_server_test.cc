#include "common/grpc_server.h"

#include <grpcpp/channel.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "common/grpc_channel.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

using ::jepalab::testing::RunfilePath;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

std::string TempDir() {
  static const std::string* const dir =
      new std::string(jepalab::testing::MakeTempDir("grpc_server_"));
  return *dir;
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status StartStatus(const GrpcServerOptions& options) {
  return GrpcServer::Start(options, {}).status();
}

TEST(GrpcServerOptionsTest, BadLimitsNameTheOption) {
  GrpcServerOptions options;
  options.port = -1;
  EXPECT_THAT(StartStatus(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("port: must be in [0, 65535], got -1")));
  options.port = 65536;
  EXPECT_THAT(StartStatus(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got 65536")));
  options = {};
  options.max_message_bytes = 0;
  EXPECT_THAT(StartStatus(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_message_bytes")));
  options = {};
  options.max_concurrent_streams = 0;
  EXPECT_THAT(StartStatus(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_concurrent_streams")));
  options = {};
  options.max_threads = 3;
  EXPECT_THAT(StartStatus(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("max_threads: must be >= 4, got 3")));
  options = {};
  options.keepalive.time = absl::ZeroDuration();
  EXPECT_THAT(StartStatus(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keepalive_time")));
}

TEST(GrpcServerOptionsTest, TlsFilesMustComeAsAReadablePair) {
  GrpcServerOptions only_cert;
  only_cert.tls_cert_file = RunfilePath("tests/testdata/tls/server.pem");
  EXPECT_THAT(StartStatus(only_cert),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tls_cert_file, tls_key_file: give both")));
  GrpcServerOptions only_key;
  only_key.tls_key_file = RunfilePath("tests/testdata/tls/server.key");
  EXPECT_THAT(StartStatus(only_key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("give both")));

  GrpcServerOptions missing_cert;
  missing_cert.tls_cert_file = "/nonexistent/server.pem";
  missing_cert.tls_key_file = RunfilePath("tests/testdata/tls/server.key");
  EXPECT_THAT(StartStatus(missing_cert),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("tls_cert_file")));
  GrpcServerOptions empty_key;
  empty_key.tls_cert_file = RunfilePath("tests/testdata/tls/server.pem");
  empty_key.tls_key_file = WriteFile("empty.key", "");
  EXPECT_THAT(StartStatus(empty_key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls_key_file")));
}

TEST(GrpcServerOptionsTest, GarbagePemIsAClearErrorNotACrash) {
  GrpcServerOptions options;
  options.tls_cert_file = WriteFile("garbage.pem", "not a certificate\n");
  options.tls_key_file = WriteFile("garbage.key", "not a key\n");
  EXPECT_THAT(StartStatus(options), StatusIs(absl::StatusCode::kUnavailable,
                                             HasSubstr("TLS certificate/key pair is invalid")));
}

TEST(GrpcServerTest, PortZeroBindsLoopbackAndWritesThePortFile) {
  GrpcServerOptions options;
  options.port_file = TempDir() + "/port";
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<GrpcServer> server, GrpcServer::Start(options, {}));
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(ReadFile(options.port_file), std::to_string(server->port()) + "\n");
}

TEST(GrpcServerTest, TlsServerAcceptsOnlyClientsTrustingItsCa) {
  GrpcServerOptions options;
  options.tls_cert_file = RunfilePath("tests/testdata/tls/server.pem");
  options.tls_key_file = RunfilePath("tests/testdata/tls/server.key");
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<GrpcServer> server, GrpcServer::Start(options, {}));
  const std::string address = "localhost:" + std::to_string(server->port());
  auto connects = [&](const ClientSecurity& security) {
    auto channel = CreateClientChannel(address, security);
    return channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(2));
  };
  ClientSecurityOptions trusting;
  trusting.tls_ca_file = RunfilePath("tests/testdata/tls/ca.pem");
  JEPALAB_ASSERT_OK_AND_ASSIGN(ClientSecurity tls, LoadClientSecurity(trusting));
  EXPECT_TRUE(connects(tls));
  EXPECT_FALSE(connects(ClientSecurity{}));  // plaintext never completes the handshake
}

}  // namespace
}  // namespace jepalab::common
