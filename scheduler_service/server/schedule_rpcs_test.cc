// The schedule RPCs of SchedulerServiceImpl over an in-process channel: a real Scheduler (its
// fake trainer takes nothing, so runs stay queued) and a ScheduleRunner whose thread ticks every
// on a fake clock, so firings happen exactly when the test moves time.
#include <grpcpp/client_context.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/rpc_auth.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/scheduler.grpc.pb.h"
#include "scheduler_service/core/schedule_runner.h"
#include "scheduler_service/core/scheduler.h"
#include "scheduler_service/core/testing/fake_trainer_client.h"
#include "scheduler_service/server/scheduler_service_impl.h"

namespace jepalab::scheduler {
namespace {

using ::testing::HasSubstr;

int64_t UtcMs(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone()));
}

class ScheduleRpcsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string dir =
        (std::filesystem::path(std::getenv("TEST_TMPDIR")) / info->name()).string();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    clock_.SetMillis(UtcMs(2024, 3, 15, 10, 7));
    SchedulerOptions options;
    options.data_dir = dir;
    options.trainers = {
        std::make_shared<testing::FakeTrainerClient>("trainer-a:1", /*capacity=*/0)};
    options.dispatch_backoff = absl::Milliseconds(5);
    auto scheduler = Scheduler::Create(options);
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = *std::move(scheduler);

    ScheduleRunnerOptions schedule_options;
    schedule_options.data_dir = dir;
    schedule_options.clock = &clock_;
    schedule_options.tick_interval = absl::Milliseconds(5);
    schedule_options.submit_sweep =
        [this](const v1::SubmitSweepRequest& request) -> absl::StatusOr<std::string> {
      absl::StatusOr<SweepResult> sweep = scheduler_->SubmitSweep(request);
      if (!sweep.ok()) return sweep.status();
      return sweep->sweep_id;
    };
    schedule_options.submit_plan = [](const v1::SubmitPlanRequest&) -> absl::StatusOr<std::string> {
      return absl::UnimplementedError("no plans here");
    };
    auto schedules = ScheduleRunner::Create(schedule_options);
    ASSERT_TRUE(schedules.ok()) << schedules.status();
    schedules_ = *std::move(schedules);

    impl_ = std::make_unique<SchedulerServiceImpl>(
        scheduler_.get(), &clock_, absl::Milliseconds(20), /*plans=*/nullptr,
        common::RpcAuthorizer("s3cret"), schedules_.get());
    grpc::ServerBuilder builder;
    builder.RegisterService(impl_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::SchedulerService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    schedules_.reset();
    scheduler_.reset();
  }

  static void Authorize(grpc::ClientContext& context) {
    context.AddMetadata("authorization", "Bearer s3cret");
  }

  v1::Schedule Get(const std::string& name) {
    grpc::ClientContext context;
    v1::GetScheduleRequest request;
    request.set_name(name);
    v1::GetScheduleResponse response;
    grpc::Status status = stub_->GetSchedule(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.schedule();
  }

  // Moves the fake clock to `ms` and waits until the runner thread has ticked at that time
  // and sleeps again: what is due at `ms` has fired, and nothing else will until time moves.
  void MoveClockAndTick(int64_t ms) {
    ASSERT_TRUE(clock_.BlockUntilWaiters(1, absl::Seconds(20)));  // asleep before the move
    clock_.SetMillis(ms);
    ASSERT_TRUE(clock_.BlockUntilWaiters(1, absl::Seconds(20)));  // ticked, asleep again
  }

  jepalab::testing::FakeClock clock_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ScheduleRunner> schedules_;
  std::unique_ptr<SchedulerServiceImpl> impl_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::SchedulerService::Stub> stub_;
};

v1::CreateScheduleRequest NightlySweep() {
  v1::CreateScheduleRequest request;
  request.set_name("nightly");
  request.set_cron("0 2 * * *");
  v1::SubmitSweepRequest* sweep = request.mutable_sweep();
  sweep->set_name("ablation");
  sweep->set_config_yaml("seed: 5\ntraining:\n  epochs: 2\n");
  sweep->add_variants()->set_name("base");
  sweep->add_variants()->set_name("small_lr");
  sweep->mutable_variants(1)->add_overrides("optimizer.lr=0.0001");
  return request;
}

TEST_F(ScheduleRpcsTest, CreateFirePauseResumeDelete) {
  {
    grpc::ClientContext context;
    Authorize(context);
    v1::CreateScheduleResponse response;
    ASSERT_TRUE(stub_->CreateSchedule(&context, NightlySweep(), &response).ok());
    EXPECT_EQ(response.schedule().next_fire_unix_ms(), UtcMs(2024, 3, 16, 2, 0));
  }
  {
    grpc::ClientContext context;
    v1::ListSchedulesResponse response;
    ASSERT_TRUE(stub_->ListSchedules(&context, v1::ListSchedulesRequest(), &response).ok());
    ASSERT_EQ(response.schedules_size(), 1);
    EXPECT_EQ(response.schedules(0).name(), "nightly");
    EXPECT_EQ(response.schedules(0).sweep().variants_size(), 2);
  }
  // Time reaches 02:00: the runner thread submits the sweep through the real Scheduler.
  MoveClockAndTick(UtcMs(2024, 3, 16, 2, 0) + 500);
  v1::Schedule fired = Get("nightly");
  ASSERT_EQ(fired.fire_count(), 1);
  ASSERT_EQ(fired.firings_size(), 1);
  const std::string sweep_id = fired.firings(0).sweep_id();
  ASSERT_FALSE(sweep_id.empty()) << fired.firings(0).error();
  EXPECT_EQ(scheduler_->ListExperiments({}, sweep_id).size(), 2u);
  EXPECT_EQ(fired.next_fire_unix_ms(), UtcMs(2024, 3, 17, 2, 0));

  {
    grpc::ClientContext context;
    Authorize(context);
    v1::PauseScheduleRequest request;
    request.set_name("nightly");
    v1::PauseScheduleResponse response;
    ASSERT_TRUE(stub_->PauseSchedule(&context, request, &response).ok());
    EXPECT_TRUE(response.schedule().paused());
  }
  MoveClockAndTick(UtcMs(2024, 3, 18, 3, 0));
  EXPECT_EQ(Get("nightly").fire_count(), 1) << "a paused schedule fired";
  {
    grpc::ClientContext context;
    Authorize(context);
    v1::ResumeScheduleRequest request;
    request.set_name("nightly");
    v1::ResumeScheduleResponse response;
    ASSERT_TRUE(stub_->ResumeSchedule(&context, request, &response).ok());
    EXPECT_EQ(response.schedule().next_fire_unix_ms(), UtcMs(2024, 3, 19, 2, 0));
  }
  {
    grpc::ClientContext context;
    Authorize(context);
    v1::DeleteScheduleRequest request;
    request.set_name("nightly");
    v1::DeleteScheduleResponse response;
    ASSERT_TRUE(stub_->DeleteSchedule(&context, request, &response).ok());
  }
  grpc::ClientContext context;
  v1::GetScheduleRequest request;
  request.set_name("nightly");
  v1::GetScheduleResponse response;
  grpc::Status status = stub_->GetSchedule(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("nightly"));
}

TEST_F(ScheduleRpcsTest, BadRequestsAreInvalidArgumentNamingTheField) {
  v1::CreateScheduleRequest request = NightlySweep();
  request.set_cron("0 25 * * *");
  grpc::ClientContext context;
  Authorize(context);
  v1::CreateScheduleResponse response;
  grpc::Status status = stub_->CreateSchedule(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("cron: hour: 25"));

  request = NightlySweep();
  request.clear_sweep();
  grpc::ClientContext no_target;
  Authorize(no_target);
  status = stub_->CreateSchedule(&no_target, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("target"));

  grpc::ClientContext pause_context;
  Authorize(pause_context);
  v1::PauseScheduleRequest pause;
  pause.set_name("nope");
  v1::PauseScheduleResponse paused;
  EXPECT_EQ(stub_->PauseSchedule(&pause_context, pause, &paused).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ScheduleRpcsTest, MutatingScheduleRpcsNeedTheToken) {
  grpc::ClientContext context;
  v1::CreateScheduleResponse response;
  EXPECT_EQ(stub_->CreateSchedule(&context, NightlySweep(), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext delete_context;
  v1::DeleteScheduleRequest request;
  request.set_name("nightly");
  v1::DeleteScheduleResponse deleted;
  EXPECT_EQ(stub_->DeleteSchedule(&delete_context, request, &deleted).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext list_context;
  v1::ListSchedulesResponse listed;
  EXPECT_TRUE(stub_->ListSchedules(&list_context, v1::ListSchedulesRequest(), &listed).ok());
  EXPECT_EQ(listed.schedules_size(), 0);
}

TEST(ScheduleRpcsWithoutRunnerTest, AreUnimplemented) {
  SchedulerServiceImpl impl(/*scheduler=*/nullptr);
  grpc::ServerBuilder builder;
  builder.RegisterService(&impl);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::SchedulerService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  grpc::ClientContext context;
  v1::ListSchedulesResponse response;
  EXPECT_EQ(stub->ListSchedules(&context, v1::ListSchedulesRequest(), &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  server->Shutdown();
}

}  // namespace
}  // namespace jepalab::scheduler
