// Security end to end over the real binaries (docs/security.md): all three services on TLS
// with a bearer token; the scheduler reaches the trainer, and the trainer's worker reaches
// metrics_service, over TLS with the token; the CLI needs the CA and the token for mutating
// commands and only the CA for reads. Certificates are checked in under tests/testdata/tls/.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab {
namespace {

using ::jepalab::testing::MakeTempDir;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceProcess;
using ::testing::HasSubstr;
using ::testing::Not;

namespace met = ::jepalab::metrics::v1;

constexpr char kMiniConfig[] = "configs/training/jepa_pretrain_a6000_mini.yaml";

std::string ReadFile(const std::string& path) { return jepalab::testing::ReadTextFile(path); }

// Runs the jepalab CLI with `env` prepended ("NAME=value ..."); returns (exit code, stdout +
// stderr).
std::pair<int, std::string> RunCli(const std::vector<std::string>& args,
                                   const std::string& env = "") {
  return jepalab::testing::RunCommand(RunfilePath("cli/jepalab"), args, env);
}

class SecurityEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_file_ = new std::string(RunfilePath("tests/testdata/tls/ca.pem"));
    token_file_ = new std::string(RunfilePath("tests/testdata/tls/token.txt"));
    const std::string cert = RunfilePath("tests/testdata/tls/server.pem");
    const std::string key = RunfilePath("tests/testdata/tls/server.key");
    const std::string ca_pem = ReadFile(*ca_file_);
    const std::string root = MakeTempDir("security_e2e_");
    const std::vector<std::string> secure = {"--tls_cert_file=" + cert, "--tls_key_file=" + key,
                                             "--auth_token_file=" + *token_file_};
    auto with = [&](std::vector<std::string> args, bool client) {
      args.insert(args.end(), secure.begin(), secure.end());
      if (client) args.push_back("--tls_ca_file=" + *ca_file_);
      return args;
    };
    auto metrics =
        ServiceProcess::Start("metrics", RunfilePath("metrics_service/metrics_server"),
                              with({"--data_dir=" + root + "/metrics", "--http_port=0"}, false),
                              absl::Seconds(60), ca_pem);
    ASSERT_THAT(metrics.status(), ::testing::IsOk());
    metrics_ = metrics->release();
    // "localhost" (not 127.0.0.1) checks the DNS name in the certificate too.
    const std::string metrics_address = absl::StrCat("localhost:", metrics_->port());
    auto trainer = ServiceProcess::Start(
        "trainer", RunfilePath("trainer_service/trainer_server"),
        with({"--data_dir=" + root + "/trainer", "--metrics_address=" + metrics_address}, true),
        absl::Seconds(60), ca_pem);
    ASSERT_THAT(trainer.status(), ::testing::IsOk());
    trainer_ = trainer->release();
    auto scheduler = ServiceProcess::Start(
        "scheduler", RunfilePath("scheduler_service/scheduler_server"),
        with({"--data_dir=" + root + "/scheduler", "--trainers=" + trainer_->address(),
              "--metrics_address=" + metrics_address},
             true),
        absl::Seconds(60), ca_pem);
    ASSERT_THAT(scheduler.status(), ::testing::IsOk());
    scheduler_ = scheduler->release();
  }

  static void TearDownTestSuite() {
    delete scheduler_;
    delete trainer_;
    delete metrics_;
    delete ca_file_;
    delete token_file_;
  }

  void SetUp() override {
    ASSERT_NE(scheduler_, nullptr);
    ASSERT_NE(trainer_, nullptr);
    ASSERT_NE(metrics_, nullptr);
  }

  std::vector<std::string> Endpoints() const {
    return {"--scheduler=" + scheduler_->address(), "--trainer=" + trainer_->address(),
            "--metrics=" + metrics_->address()};
  }

  std::unique_ptr<met::MetricsService::Stub> MetricsStub(bool with_token) const {
    absl::StatusOr<common::ClientSecurity> security =
        common::LoadClientSecurity({*ca_file_, with_token ? *token_file_ : std::string()});
    EXPECT_THAT(security.status(), ::testing::IsOk());
    return met::MetricsService::NewStub(
        common::CreateClientChannel(metrics_->address(), *security));
  }

  static std::string* ca_file_;
  static std::string* token_file_;
  static ServiceProcess* metrics_;
  static ServiceProcess* trainer_;
  static ServiceProcess* scheduler_;
};

std::string* SecurityEndToEndTest::ca_file_ = nullptr;
std::string* SecurityEndToEndTest::token_file_ = nullptr;
ServiceProcess* SecurityEndToEndTest::metrics_ = nullptr;
ServiceProcess* SecurityEndToEndTest::trainer_ = nullptr;
ServiceProcess* SecurityEndToEndTest::scheduler_ = nullptr;

TEST_F(SecurityEndToEndTest, CliWithCaAndTokenRunsAnExperimentThroughEveryTlsHop) {
  std::vector<std::string> args = {"submit",
                                   RunfilePath(kMiniConfig),
                                   "--name",
                                   "secure",
                                   "--set",
                                   "data.generator.num_atomic=240",
                                   "--set",
                                   "data.generator.num_sequential=160",
                                   "--set",
                                   "training.batch_size=32",
                                   "--set",
                                   "training.epochs=1",
                                   "--set",
                                   "training.num_threads=1",
                                   "--watch",
                                   "--timeout=300",
                                   "--tls_ca_file=" + *ca_file_,
                                   "--auth_token_file=" + *token_file_};
  for (const std::string& e : Endpoints()) args.push_back(e);
  auto [code, out] = RunCli(args);
  ASSERT_EQ(code, 0) << out;

  // The worker reported over TLS with the token: metrics_service holds the run's points.
  auto [list_code, list_out] = RunCli({"list", "--tls_ca_file=" + *ca_file_, Endpoints()[0]});
  ASSERT_EQ(list_code, 0) << list_out;
  EXPECT_THAT(list_out, HasSubstr("secure-0001"));
  met::ListRunsResponse runs;
  grpc::ClientContext context;
  ASSERT_TRUE(
      MetricsStub(/*with_token=*/false)->ListRuns(&context, met::ListRunsRequest(), &runs).ok());
  ASSERT_EQ(runs.runs_size(), 1);
  EXPECT_GT(runs.runs(0).num_points(), 0);
  EXPECT_EQ(runs.runs(0).state(), common::v1::RUN_STATE_SUCCEEDED);
}

TEST_F(SecurityEndToEndTest, CliMutatingCommandWithoutTokenIsUnauthenticated) {
  std::vector<std::string> args = {"submit", RunfilePath(kMiniConfig), "--name", "refused",
                                   "--tls_ca_file=" + *ca_file_};
  for (const std::string& e : Endpoints()) args.push_back(e);
  auto [code, out] = RunCli(args);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("UNAUTHENTICATED"));
  auto [cancel_code, cancel_out] =
      RunCli({"cancel", "secure-0001", "--tls_ca_file=" + *ca_file_, Endpoints()[0]});
  EXPECT_EQ(cancel_code, 1) << cancel_out;
  EXPECT_THAT(cancel_out, HasSubstr("UNAUTHENTICATED"));
  // A wrong token fares no better; a read needs none.
  auto [wrong_code, wrong_out] =
      RunCli({"cancel", "secure-0001", "--tls_ca_file=" + *ca_file_, Endpoints()[0]},
             "JEPALAB_TOKEN_FILE=" + RunfilePath("tests/testdata/tls/wrong_token.txt"));
  EXPECT_EQ(wrong_code, 1) << wrong_out;
  EXPECT_THAT(wrong_out, HasSubstr("invalid bearer token"));
  auto [list_code, list_out] = RunCli({"list", "--tls_ca_file=" + *ca_file_, Endpoints()[0]});
  EXPECT_EQ(list_code, 0) << list_out;
  EXPECT_THAT(list_out, Not(HasSubstr("refused")));
}

TEST_F(SecurityEndToEndTest, TokenFromEnvironmentIsUsed) {
  // Cancelling an unknown experiment: NOT_FOUND means the token got through.
  auto [code, out] = RunCli({"cancel", "nope-0001", "--tls_ca_file=" + *ca_file_, Endpoints()[0]},
                            "JEPALAB_TOKEN_FILE=" + *token_file_);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("NOT_FOUND"));
}

TEST_F(SecurityEndToEndTest, PlaintextClientCannotTalkToATlsServer) {
  auto [code, out] = RunCli({"list", "--timeout=5", Endpoints()[0]});
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("UNAVAILABLE"));
}

TEST_F(SecurityEndToEndTest, MetricsMutatingRpcsNeedTheTokenQueriesDoNot) {
  met::RegisterRunRequest request;
  request.mutable_run()->set_run_id("direct-run");
  met::RegisterRunResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status =
        MetricsStub(/*with_token=*/false)->RegisterRun(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  }
  {
    grpc::ClientContext context;
    grpc::Status status =
        MetricsStub(/*with_token=*/true)->RegisterRun(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    met::GetRunHistoryRequest history_request;
    history_request.set_run_id("direct-run");
    met::GetRunHistoryResponse history;
    grpc::Status status =
        MetricsStub(/*with_token=*/false)->GetRunHistory(&context, history_request, &history);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

TEST(SecurityStartupTest, HalfATlsPairIsAStartupErrorNamingTheFlags) {
  const std::string root = MakeTempDir("security_startup_");
  const std::string command = absl::StrCat(
      RunfilePath("metrics_service/metrics_server"), " --port=0 --http_port=0 --data_dir=", root,
      " --tls_cert_file=", RunfilePath("tests/testdata/tls/server.pem"), " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << output;
  EXPECT_THAT(output, HasSubstr("tls_cert_file, tls_key_file: give both"));
}

}  // namespace
}  // namespace jepalab
