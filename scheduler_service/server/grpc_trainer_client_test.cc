#include "scheduler_service/server/grpc_trainer_client.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/trainer.grpc.pb.h"

namespace jepalab::scheduler {
namespace {

namespace tv1 = ::jepalab::trainer::v1;
using ::jepalab::common::v1::RunState;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

// A canned trainer: "full" is refused, "known" exists, "finite" streams to SUCCEEDED, and any
// other run streams RUNNING then blocks until the client cancels.
class CannedTrainer final : public tv1::TrainerService::Service {
 public:
  grpc::Status StartRun(grpc::ServerContext*, const tv1::StartRunRequest* request,
                        tv1::StartRunResponse* response) override {
    if (request->run_id() == "full") {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "at max_concurrent_runs");
    }
    absl::MutexLock lock(&mu_);
    started_.push_back(*request);
    response->mutable_run()->set_run_id(request->run_id());
    return grpc::Status::OK;
  }
  grpc::Status CancelRun(grpc::ServerContext*, const tv1::CancelRunRequest* request,
                         tv1::CancelRunResponse*) override {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, request->run_id() + " finished");
  }
  grpc::Status GetRun(grpc::ServerContext*, const tv1::GetRunRequest* request,
                      tv1::GetRunResponse* response) override {
    if (request->run_id() != "known") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no run");
    response->mutable_run()->set_run_id("known");
    response->mutable_run()->set_state(RunState::RUN_STATE_RUNNING);
    response->mutable_run()->mutable_progress()->set_step(3);
    return grpc::Status::OK;
  }
  grpc::Status StreamRunEvents(grpc::ServerContext* context,
                               const tv1::StreamRunEventsRequest* request,
                               grpc::ServerWriter<tv1::RunEvent>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      include_metrics_ = request->include_metrics();
    }
    tv1::RunEvent event;
    event.set_run_id(request->run_id());
    event.mutable_state_change()->set_state(RunState::RUN_STATE_RUNNING);
    writer->Write(event);
    if (request->run_id() == "finite") {
      event.mutable_progress()->set_step(7);
      writer->Write(event);
      event.mutable_state_change()->set_state(RunState::RUN_STATE_SUCCEEDED);
      writer->Write(event);
      return grpc::Status::OK;
    }
    // A server handler cannot block on client cancellation; poll the context for it.
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(1));
    return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }

  std::vector<tv1::StartRunRequest> started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  bool include_metrics() {
    absl::MutexLock lock(&mu_);
    return include_metrics_;
  }

 private:
  absl::Mutex mu_;
  std::vector<tv1::StartRunRequest> started_ ABSL_GUARDED_BY(mu_);
  bool include_metrics_ ABSL_GUARDED_BY(mu_) = true;
};

class GrpcTrainerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&trainer_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<GrpcTrainerClient>(
        "trainer-a:50052", server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  CannedTrainer trainer_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcTrainerClient> client_;
};

TEST_F(GrpcTrainerClientTest, StartRunSendsTheWholeRequestAndMapsRefusals) {
  ::jepalab::config::v1::TrainerConfig config;
  config.set_seed(42);
  ASSERT_THAT(
      client_->StartRun("mini-0001-s42", "mini-0001", config, "hash-42", {{"seed", "42"}}, false),
      IsOk());
  ASSERT_THAT(client_->StartRun("retried", "mini-0001", config, "", {}, /*resume=*/true), IsOk());
  std::vector<tv1::StartRunRequest> started = trainer_.started();
  ASSERT_EQ(started.size(), 2u);
  EXPECT_FALSE(started[0].resume());
  EXPECT_TRUE(started[1].resume());
  EXPECT_EQ(started[0].run_id(), "mini-0001-s42");
  EXPECT_EQ(started[0].experiment(), "mini-0001");
  EXPECT_EQ(started[0].config().seed(), 42);
  EXPECT_EQ(started[0].config_hash(), "hash-42");
  EXPECT_EQ(started[0].labels().at("seed"), "42");

  EXPECT_THAT(client_->StartRun("full", "x", config, "", {}, false),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("trainer trainer-a:50052 StartRun: at max_concurrent_runs")));
  EXPECT_THAT(client_->CancelRun("done"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("done finished")));
}

TEST_F(GrpcTrainerClientTest, GetRunReturnsTheRunOrNotFound) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerClient::Run run, client_->GetRun("known"));
  EXPECT_EQ(run.state(), RunState::RUN_STATE_RUNNING);
  EXPECT_EQ(run.progress().step(), 3);
  EXPECT_THAT(client_->GetRun("lost"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no run")));
}

TEST_F(GrpcTrainerClientTest, WatchRunDeliversEventsUntilTheRunEnds) {
  std::vector<TrainerClient::RunEvent> events;
  CancelToken cancel;
  EXPECT_THAT(
      client_->WatchRun(
          "finite", [&](const TrainerClient::RunEvent& e) { events.push_back(e); }, &cancel),
      IsOk());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].progress().step(), 7);
  EXPECT_EQ(events[2].state_change().state(), RunState::RUN_STATE_SUCCEEDED);
  // State and progress only, as TrainerClient promises: no metrics batches asked for.
  EXPECT_FALSE(trainer_.include_metrics());
}

TEST_F(GrpcTrainerClientTest, CancelTokenEndsABlockedWatch) {
  CancelToken cancel;
  absl::Notification first_event;
  absl::Status result;
  std::thread watcher([&] {
    result = client_->WatchRun(
        "endless",
        [&](const TrainerClient::RunEvent&) {
          if (!first_event.HasBeenNotified()) first_event.Notify();
        },
        &cancel);
  });
  ASSERT_TRUE(first_event.WaitForNotificationWithTimeout(absl::Seconds(20)));
  cancel.Cancel();
  watcher.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled, HasSubstr("endless")));
}

TEST(GrpcTrainerClientUnreachableTest, DownTrainerIsUnavailable) {
  GrpcTrainerClientOptions options;
  options.rpc_timeout = absl::Seconds(5);
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  std::unique_ptr<GrpcTrainerClient> client = GrpcTrainerClient::Create("127.0.0.1:1", options);
  EXPECT_EQ(client->address(), "127.0.0.1:1");
  EXPECT_THAT(client->GetRun("any"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1:1")));
}

}  // namespace
}  // namespace jepalab::scheduler
