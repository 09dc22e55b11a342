#include "trainer_service/server/trainer_service_impl.h"

#include <grpcpp/grpcpp.h>

#include "common/grpc_status.h"
#include "common/rpc_auth.h"
#include "common/testing/service_process.h"
#include "config/trainer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/trainer.grpc.pb.h"

namespace jepalab::trainer {

using ::jepalab::config::LoadTrainerConfig;
namespace {

using ::testing::HasSubstr;

constexpr char kTinyConfig[] = R"(
data:
  context_window: 2
  generator: {num_atomic: 40, num_sequential: 24, min_grid_size: 3, max_grid_size: 4}
object_encoder: {hidden_dim: 8}
training: {batch_size: 16, epochs: 2, num_threads: 1}
loss: {queue_size: 16, projection_dim: 8}
)";

class TrainerServiceImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RunManagerOptions options;
    options.data_dir = jepalab::testing::MakeTempDir("trainer_");
    options.worker_binary = jepalab::testing::RunfilePath("trainer_service/trainer_worker");
    auto manager = RunManager::Create(options);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    service_ = std::make_unique<TrainerServiceImpl>(manager_.get(), absl::Milliseconds(50));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = v1::TrainerService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    manager_->Shutdown();
    server_->Shutdown();
  }

  v1::StartRunRequest Request(const std::string& run_id) {
    v1::StartRunRequest request;
    request.set_run_id(run_id);
    request.set_experiment("e1");
    auto config = LoadTrainerConfig(kTinyConfig, "tiny.yaml");
    EXPECT_TRUE(config.ok()) << config.status();
    *request.mutable_config() = *config;
    return request;
  }

  std::unique_ptr<RunManager> manager_;
  std::unique_ptr<TrainerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::TrainerService::Stub> stub_;
};

TEST_F(TrainerServiceImplTest, MapsStatusCodes) {
  grpc::ClientContext c1;
  v1::StartRunResponse started;
  auto bad = Request("bad/id");
  EXPECT_EQ(stub_->StartRun(&c1, bad, &started).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext c2;
  auto bad_config = Request("bad-config");
  bad_config.mutable_config()->mutable_optimizer()->set_lr(0);
  const grpc::Status config_status = stub_->StartRun(&c2, bad_config, &started);
  EXPECT_EQ(config_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(config_status.error_message(), HasSubstr("optimizer.lr"));

  grpc::ClientContext c3;
  v1::GetRunRequest get;
  get.set_run_id("unknown");
  v1::GetRunResponse got;
  EXPECT_EQ(stub_->GetRun(&c3, get, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext c4;
  v1::CancelRunRequest cancel;
  cancel.set_run_id("unknown");
  v1::CancelRunResponse cancelled;
  EXPECT_EQ(stub_->CancelRun(&c4, cancel, &cancelled).error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext c5;
  ASSERT_TRUE(stub_->StartRun(&c5, Request("r1"), &started).ok());
  EXPECT_EQ(started.run().run_id(), "r1");
  EXPECT_EQ(started.run().experiment(), "e1");
  grpc::ClientContext c6;
  EXPECT_EQ(stub_->StartRun(&c6, Request("r1"), &started).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  grpc::ClientContext c7;
  EXPECT_EQ(stub_->StartRun(&c7, Request("r2"), &started).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);  // max_concurrent_runs = 1

  grpc::ClientContext c8;
  v1::StreamRunEventsRequest stream_request;
  stream_request.set_run_id("unknown");
  auto reader = stub_->StreamRunEvents(&c8, stream_request);
  v1::RunEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TrainerServiceImplTest, StreamsEventsUntilTheTerminalState) {
  grpc::ClientContext c1;
  v1::StartRunResponse started;
  ASSERT_TRUE(stub_->StartRun(&c1, Request("s1"), &started).ok());

  grpc::ClientContext c2;
  v1::StreamRunEventsRequest request;
  request.set_run_id("s1");
  request.set_include_metrics(true);
  auto reader = stub_->StreamRunEvents(&c2, request);
  v1::RunEvent event;
  std::vector<common::v1::RunState> states;
  int metrics = 0;
  while (reader->Read(&event)) {
    if (event.has_state_change()) states.push_back(event.state_change().state());
    metrics += event.has_metrics();
  }
  EXPECT_TRUE(reader->Finish().ok());
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), common::v1::RUN_STATE_SUCCEEDED);
  EXPECT_GT(metrics, 0);

  grpc::ClientContext c3;
  v1::ListRunsRequest list;
  list.set_experiment("e1");
  list.add_states(common::v1::RUN_STATE_SUCCEEDED);
  v1::ListRunsResponse runs;
  ASSERT_TRUE(stub_->ListRuns(&c3, list, &runs).ok());
  ASSERT_EQ(runs.runs_size(), 1);
  EXPECT_EQ(runs.runs(0).run_id(), "s1");

  grpc::ClientContext c4;
  v1::CancelRunRequest cancel;
  cancel.set_run_id("s1");
  v1::CancelRunResponse cancelled;
  EXPECT_EQ(stub_->CancelRun(&c4, cancel, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
// docs/security.md: with a token, StartRun and CancelRun need it; reads stay open.
TEST_F(TrainerServiceImplTest, MutatingRpcsNeedTheBearerTokenReadOnlyOnesDoNot) {
  TrainerServiceImpl guarded(manager_.get(), absl::Milliseconds(50),
                             common::RpcAuthorizer("s3cret"));
  grpc::ServerBuilder builder;
  builder.RegisterService(&guarded);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto open = v1::TrainerService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  v1::StartRunResponse started;
  {
    grpc::ClientContext context;
    EXPECT_EQ(open->StartRun(&context, Request("guarded"), &started).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    v1::CancelRunRequest request;
    request.set_run_id("guarded");
    v1::CancelRunResponse response;
    EXPECT_EQ(open->CancelRun(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    v1::ListRunsResponse runs;
    ASSERT_TRUE(open->ListRuns(&context, v1::ListRunsRequest(), &runs).ok());
    EXPECT_EQ(runs.runs_size(), 0);  // the refused StartRun started nothing
  }
  {
    grpc::ClientContext context;
    v1::GetRunRequest request;
    request.set_run_id("guarded");
    v1::GetRunResponse response;
    EXPECT_EQ(open->GetRun(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);  // open, and nothing there
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer s3cret");
    v1::CancelRunRequest request;
    request.set_run_id("guarded");
    v1::CancelRunResponse response;
    EXPECT_EQ(open->CancelRun(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);  // past the token check
  }
  server->Shutdown();
}

// docs/bad_input.md: ids with path characters never become a run folder.
TEST_F(TrainerServiceImplTest, BadRunIdsAreInvalidArgument) {
  for (const std::string id : {"", "../x", "a/b", "/tmp/x"}) {
    SCOPED_TRACE(id);
    grpc::ClientContext context;
    v1::StartRunResponse response;
    grpc::Status status = stub_->StartRun(&context, Request(id), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("run_id: must"));
  }
}

}  // namespace jepalab::trainer
