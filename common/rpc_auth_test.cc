#include "common/rpc_auth.h"

#include <grpcpp/server_context.h>
#include <grpcpp/test/server_context_test_spouse.h>

#include <fstream>
#include <string>

#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::Not;
using ::testing::StatusIs;

constexpr char kToken[] = "s3cret-token";

std::string WriteFile(const std::string& name, const std::string& text) {
  static const std::string* const dir = new std::string(jepalab::testing::MakeTempDir("rpc_auth_"));
  const std::string path = *dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The status Authorize gives a call carrying `authorization` (none when empty).
absl::Status AuthorizeWith(const RpcAuthorizer& authorizer, const std::string& authorization) {
  grpc::ServerContext context;
  grpc::testing::ServerContextTestSpouse spouse(&context);
  if (!authorization.empty()) spouse.AddClientMetadata(kAuthorizationMetadataKey, authorization);
  return authorizer.Authorize(context, "StartRun");
}

TEST(RpcAuthorizerTest, WithoutATokenEveryCallPasses) {
  const RpcAuthorizer open;
  EXPECT_FALSE(open.enabled());
  EXPECT_THAT(AuthorizeWith(open, ""), IsOk());
  EXPECT_THAT(AuthorizeWith(RpcAuthorizer(""), "Bearer anything"), IsOk());
}

TEST(RpcAuthorizerTest, AcceptsOnlyTheExactBearerToken) {
  const RpcAuthorizer authorizer(kToken);
  EXPECT_TRUE(authorizer.enabled());
  EXPECT_THAT(AuthorizeWith(authorizer, std::string("Bearer ") + kToken), IsOk());
  for (const std::string& bad : {std::string("Bearer wrong"), std::string("Bearer ") + kToken + "x",
                                 std::string("Bearer s3cret"), std::string("bearer ") + kToken,
                                 std::string("Basic ") + kToken, std::string(kToken),
                                 std::string("Bearer "), std::string("Bearer  ") + kToken}) {
    const absl::Status status = AuthorizeWith(authorizer, bad);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnauthenticated,
                                 HasSubstr("StartRun: invalid bearer token")))
        << bad;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kToken))) << "leaks the token";
  }
}

TEST(RpcAuthorizerTest, MissingMetadataNamesTheRpc) {
  EXPECT_THAT(AuthorizeWith(RpcAuthorizer(kToken), ""),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("StartRun: missing \"authorization: Bearer <token>\"")));
}

TEST(RpcAuthorizerTest, TokenFileIsTrimmedAndMustNotBeEmpty) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      RpcAuthorizer authorizer,
      RpcAuthorizer::FromTokenFile("auth_token_file", WriteFile("token", "  s3cret-token\n\n")));
  EXPECT_THAT(AuthorizeWith(authorizer, std::string("Bearer ") + kToken), IsOk());

  EXPECT_THAT(
      RpcAuthorizer::FromTokenFile("auth_token_file", WriteFile("blank", " \n\t\n")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("auth_token_file: token file")));
  EXPECT_THAT(RpcAuthorizer::FromTokenFile("auth_token_file", "/nonexistent/token"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("auth_token_file: cannot read /nonexistent/token")));
  JEPALAB_ASSERT_OK_AND_ASSIGN(RpcAuthorizer open, RpcAuthorizer::FromTokenFile("x", ""));
  EXPECT_FALSE(open.enabled());
}

TEST(RpcAuthTest, PemFileMustExistAndNotBeEmpty) {
  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::string text,
                               ReadPemFile("tls_cert_file", WriteFile("c.pem", pem)));
  EXPECT_EQ(text, pem);  // kept whole: PEM parsers want the trailing newline
  EXPECT_THAT(ReadPemFile("tls_key_file", WriteFile("empty.pem", "\n")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls_key_file: file")));
  EXPECT_THAT(ReadPemFile("tls_cert_file", "/nonexistent/c.pem"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("tls_cert_file")));
}

}  // namespace
}  // namespace jepalab::common
