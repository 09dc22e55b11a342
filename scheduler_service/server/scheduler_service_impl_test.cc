#include "scheduler_service/server/scheduler_service_impl.h"

#include <grpcpp/client_context.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/rpc_auth.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/scheduler.grpc.pb.h"
#include "scheduler_service/core/plan_runner.h"
#include "scheduler_service/core/scheduler.h"
#include "scheduler_service/core/testing/fake_metrics_client.h"
#include "scheduler_service/core/testing/fake_trainer_client.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::scheduler::testing::FakeTrainerClient;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(20);
constexpr char kConfig[] = "seed: 5\ntraining:\n  epochs: 2\n";

class SchedulerServiceImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string dir =
        (std::filesystem::path(std::getenv("TEST_TMPDIR")) / info->name()).string();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    trainer_ = std::make_shared<FakeTrainerClient>("trainer-a:50052", /*capacity=*/1);
    SchedulerOptions options;
    options.data_dir = dir;
    options.trainers = {trainer_};
    options.dispatch_backoff = absl::Milliseconds(5);
    options.poll_interval = absl::Milliseconds(5);
    auto scheduler = Scheduler::Create(options);
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = *std::move(scheduler);
    PlanRunnerOptions plan_options;
    plan_options.data_dir = dir;
    plan_options.scheduler = scheduler_.get();
    plan_options.metrics = std::make_shared<testing::FakeMetricsClient>();
    plan_options.poll_interval = absl::Milliseconds(5);
    auto plans = PlanRunner::Create(plan_options);
    ASSERT_TRUE(plans.ok()) << plans.status();
    plans_ = *std::move(plans);
    impl_ =
        std::make_unique<SchedulerServiceImpl>(scheduler_.get(), /*clock=*/nullptr,
                                               /*watch_poll=*/absl::Milliseconds(20), plans_.get());
    grpc::ServerBuilder builder;  // no port: in-process only
    builder.RegisterService(impl_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::SchedulerService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    plans_.reset();
    scheduler_.reset();
  }

  v1::Experiment Submit(const std::string& name, std::vector<int64_t> seeds) {
    v1::SubmitExperimentRequest request;
    request.set_name(name);
    request.set_config_yaml(kConfig);
    for (int64_t seed : seeds) request.add_seeds(seed);
    v1::SubmitExperimentResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitExperiment(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.experiment();
  }

  std::shared_ptr<FakeTrainerClient> trainer_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<PlanRunner> plans_;
  std::unique_ptr<SchedulerServiceImpl> impl_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::SchedulerService::Stub> stub_;
};

TEST_F(SchedulerServiceImplTest, SubmitGetAndListTranslateRequests) {
  trainer_->SetCapacity(0);
  v1::SubmitExperimentRequest request;
  request.set_name("mini");
  request.set_config_yaml(kConfig);
  request.add_overrides("optimizer.lr=0.001");
  request.add_seeds(1);
  request.add_seeds(2);
  request.add_tags("smoke");
  v1::SubmitExperimentResponse submitted;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->SubmitExperiment(&context, request, &submitted).ok());
  }
  EXPECT_EQ(submitted.experiment().id(), "mini-0001");
  ASSERT_EQ(submitted.experiment().runs_size(), 2);
  EXPECT_EQ(submitted.experiment().runs(1).run_id(), "mini-0001-s2");
  EXPECT_EQ(submitted.experiment().tags(0), "smoke");

  v1::GetExperimentRequest get;
  get.set_id("mini-0001");
  v1::GetExperimentResponse got;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetExperiment(&context, get, &got).ok());
  }
  EXPECT_EQ(got.experiment().overrides(0), "optimizer.lr=0.001");
  EXPECT_EQ(got.experiment().state(), v1::EXPERIMENT_STATE_QUEUED);

  v1::ListExperimentsRequest list;
  list.add_states(v1::EXPERIMENT_STATE_QUEUED);
  v1::ListExperimentsResponse listed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListExperiments(&context, list, &listed).ok());
  }
  ASSERT_EQ(listed.experiments_size(), 1);
  EXPECT_EQ(listed.experiments(0).id(), "mini-0001");
  list.set_states(0, v1::EXPERIMENT_STATE_SUCCEEDED);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListExperiments(&context, list, &listed).ok());
  }
  EXPECT_EQ(listed.experiments_size(), 0);
}

TEST_F(SchedulerServiceImplTest, MapsCoreErrorsToGrpcCodes) {
  v1::SubmitExperimentRequest bad;
  bad.set_name("mini");
  bad.set_config_yaml("seed: 1\ntraining:\n  learning_rate: 0.1\n");
  bad.set_config_path("configs/bad.yaml");
  v1::SubmitExperimentResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitExperiment(&context, bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("training.learning_rate"));
    EXPECT_THAT(status.error_message(), HasSubstr("configs/bad.yaml:3"));
  }
  v1::GetExperimentRequest get;
  get.set_id("nope-0001");
  v1::GetExperimentResponse got;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->GetExperiment(&context, get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("nope-0001"));
  }
  trainer_->SetCapacity(0);
  const v1::Experiment experiment = Submit("mini", {1});
  v1::CancelExperimentRequest cancel;
  cancel.set_id(experiment.id());
  v1::CancelExperimentResponse cancelled;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->CancelExperiment(&context, cancel, &cancelled).ok());
    EXPECT_EQ(cancelled.experiment().state(), v1::EXPERIMENT_STATE_CANCELLED);
  }
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->CancelExperiment(&context, cancel, &cancelled);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
}

TEST_F(SchedulerServiceImplTest, SubmitSweepReturnsOneExperimentPerVariant) {
  trainer_->SetCapacity(0);
  v1::SubmitSweepRequest request;
  request.set_name("lr");
  request.set_config_yaml(kConfig);
  request.add_variants()->set_name("a");
  request.mutable_variants(0)->add_overrides("optimizer.lr=0.0001");
  request.add_variants()->set_name("b");
  request.mutable_variants(1)->add_overrides("optimizer.lr=0.001");
  v1::SubmitSweepResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->SubmitSweep(&context, request, &response).ok());
  EXPECT_EQ(response.sweep_id(), "lr-0001");
  ASSERT_EQ(response.experiments_size(), 2);
  EXPECT_EQ(response.experiments(0).id(), "lr.a-0002");
  EXPECT_EQ(response.experiments(1).runs(0).run_id(), "lr.b-0003-s5");
}

TEST_F(SchedulerServiceImplTest, WatchStreamsUntilTheExperimentFinishes) {
  const v1::Experiment experiment = Submit("mini", {1});
  v1::WatchExperimentRequest request;
  request.set_id(experiment.id());
  grpc::ClientContext context;
  auto reader = stub_->WatchExperiment(&context, request);
  v1::ExperimentEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.experiment().id(), "mini-0001");
  EXPECT_GT(event.unix_ms(), 0);

  ASSERT_TRUE(trainer_->WaitForWatchers("mini-0001-s1", 1, kWait));
  trainer_->EmitProgress("mini-0001-s1", 1, 2);
  trainer_->Finish("mini-0001-s1", RunState::RUN_STATE_SUCCEEDED);
  std::vector<v1::ExperimentEvent> events = {event};
  while (reader->Read(&event)) events.push_back(event);
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(events.back().experiment().state(), v1::EXPERIMENT_STATE_SUCCEEDED);
  EXPECT_EQ(events.back().experiment().runs(0).state(), RunState::RUN_STATE_SUCCEEDED);
  EXPECT_GE(events.size(), 2u);
}

TEST_F(SchedulerServiceImplTest, WatchEndsWhenTheClientCancels) {
  trainer_->SetCapacity(0);
  const v1::Experiment experiment = Submit("mini", {1});
  v1::WatchExperimentRequest request;
  request.set_id(experiment.id());
  grpc::ClientContext context;
  auto reader = stub_->WatchExperiment(&context, request);
  v1::ExperimentEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.experiment().state(), v1::EXPERIMENT_STATE_QUEUED);
  context.TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(SchedulerServiceImplTest, WatchUnknownExperimentIsNotFound) {
  v1::WatchExperimentRequest request;
  request.set_id("nope-0001");
  grpc::ClientContext context;
  auto reader = stub_->WatchExperiment(&context, request);
  v1::ExperimentEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("nope-0001"));
}

constexpr char kPlan[] =
    "name: p\nseeds: [3]\nstages: [{name: one, runs: [{name: r1, config: "
    "configs/training/jepa_pretrain_a6000_mini.yaml}]}]\n";

TEST_F(SchedulerServiceImplTest, PlanRpcsTranslateRequests) {
  trainer_->SetCapacity(0);
  v1::SubmitPlanRequest request;
  request.set_plan_yaml(kPlan);
  request.set_plan_path("p.yaml");
  request.add_seeds(4);
  v1::SubmitPlanResponse submitted;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitPlan(&context, request, &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(submitted.plan().id(), "p-0001");
  EXPECT_EQ(submitted.plan().state(), v1::PLAN_STATE_RUNNING);
  EXPECT_EQ(submitted.plan().plan_path(), "p.yaml");
  ASSERT_EQ(submitted.plan().runs_size(), 1);
  EXPECT_EQ(submitted.plan().runs(0).run_ids(0),
            absl::StrCat(submitted.plan().runs(0).experiment_id(), "-s4"));

  v1::GetPlanRequest get;
  get.set_id("p-0001");
  v1::GetPlanResponse got;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetPlan(&context, get, &got).ok());
  }
  EXPECT_EQ(got.plan().current_stage(), "one");
  EXPECT_EQ(got.plan().runs(0).state(), v1::EXPERIMENT_STATE_QUEUED);

  v1::ListPlansResponse listed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListPlans(&context, v1::ListPlansRequest(), &listed).ok());
  }
  ASSERT_EQ(listed.plans_size(), 1);
  EXPECT_EQ(listed.plans(0).id(), "p-0001");
  EXPECT_TRUE(listed.plans(0).plan_yaml().empty());

  v1::CancelPlanRequest cancel;
  cancel.set_id("p-0001");
  v1::CancelPlanResponse cancelled;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->CancelPlan(&context, cancel, &cancelled).ok());
  }
  EXPECT_EQ(cancelled.plan().state(), v1::PLAN_STATE_CANCELLED);
  EXPECT_EQ(cancelled.plan().runs(0).state(), v1::EXPERIMENT_STATE_CANCELLED);
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->CancelPlan(&context, cancel, &cancelled).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  get.set_id("nope-0001");
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->GetPlan(&context, get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("nope-0001"));
  }
}

TEST_F(SchedulerServiceImplTest, BadPlanIsInvalidArgumentNamingTheField) {
  v1::SubmitPlanRequest request;
  request.set_plan_path("configs/plans/bad.yaml");
  request.set_plan_yaml(
      "name: p\nstages: [{name: one, runs: [{name: r1, config: configs/training/none.yaml}]}]\n");
  v1::SubmitPlanResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->SubmitPlan(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("configs/plans/bad.yaml"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("stages[0].runs[0].config: file not found: configs/training/none.yaml"));
}

// docs/security.md: with a token, the five mutating RPCs need it; reads stay open.
TEST_F(SchedulerServiceImplTest, MutatingRpcsNeedTheBearerTokenReadOnlyOnesDoNot) {
  SchedulerServiceImpl guarded(scheduler_.get(), /*clock=*/nullptr,
                               /*watch_poll=*/absl::Milliseconds(20), plans_.get(),
                               common::RpcAuthorizer("s3cret"));
  grpc::ServerBuilder builder;
  builder.RegisterService(&guarded);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto open = v1::SchedulerService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  auto with_token =
      v1::SchedulerService::NewStub(server->experimental().InProcessChannelWithInterceptors(
          grpc::ChannelArguments(), common::BearerTokenInterceptors("s3cret")));
  trainer_->SetCapacity(0);

  v1::SubmitExperimentRequest submit;
  submit.set_name("guarded");
  submit.set_config_yaml(kConfig);
  submit.add_seeds(1);
  v1::SubmitExperimentResponse submitted;
  {
    grpc::ClientContext context;
    grpc::Status status = open->SubmitExperiment(&context, submit, &submitted);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(status.error_message(), HasSubstr("SubmitExperiment: missing"));
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer wrong");
    grpc::Status status = open->SubmitExperiment(&context, submit, &submitted);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(status.error_message(), HasSubstr("invalid bearer token"));
    EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("s3cret")));
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "s3cret");  // no "Bearer " scheme
    EXPECT_EQ(open->SubmitExperiment(&context, submit, &submitted).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  v1::ListExperimentsResponse listed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(open->ListExperiments(&context, v1::ListExperimentsRequest(), &listed).ok());
    EXPECT_EQ(listed.experiments_size(), 0);  // the refused submissions stored nothing
  }
  {
    grpc::ClientContext context;
    grpc::Status status = with_token->SubmitExperiment(&context, submit, &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    v1::SubmitSweepRequest sweep;
    v1::SubmitSweepResponse swept;
    EXPECT_EQ(open->SubmitSweep(&context, sweep, &swept).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  v1::CancelExperimentRequest cancel;
  cancel.set_id(submitted.experiment().id());
  v1::CancelExperimentResponse cancelled;
  {
    grpc::ClientContext context;
    EXPECT_EQ(open->CancelExperiment(&context, cancel, &cancelled).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    v1::SubmitPlanResponse plan;
    EXPECT_EQ(open->SubmitPlan(&context, v1::SubmitPlanRequest(), &plan).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    v1::CancelPlanRequest request;
    request.set_id("p-0001");
    v1::CancelPlanResponse plan;
    EXPECT_EQ(open->CancelPlan(&context, request, &plan).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // Reads without a token.
  {
    grpc::ClientContext context;
    v1::GetExperimentRequest get;
    get.set_id(submitted.experiment().id());
    v1::GetExperimentResponse got;
    ASSERT_TRUE(open->GetExperiment(&context, get, &got).ok());
    EXPECT_EQ(got.experiment().state(),
              v1::EXPERIMENT_STATE_QUEUED);  // the refused cancel did nothing
  }
  {
    grpc::ClientContext context;
    ASSERT_TRUE(open->ListExperiments(&context, v1::ListExperimentsRequest(), &listed).ok());
    EXPECT_EQ(listed.experiments_size(), 1);
  }
  {
    grpc::ClientContext context;
    v1::ListPlansResponse plans;
    EXPECT_TRUE(open->ListPlans(&context, v1::ListPlansRequest(), &plans).ok());
  }
  {
    grpc::ClientContext context;
    EXPECT_TRUE(with_token->CancelExperiment(&context, cancel, &cancelled).ok());
  }
  server->Shutdown();
}

// docs/bad_input.md: ids with path characters never reach a lookup or a file.
TEST_F(SchedulerServiceImplTest, BadIdsAreInvalidArgumentNamingTheField) {
  for (const std::string id : {"", "../x", "a/b", "/etc/passwd"}) {
    SCOPED_TRACE(id);
    {
      grpc::ClientContext context;
      v1::GetExperimentRequest request;
      request.set_id(id);
      v1::GetExperimentResponse response;
      grpc::Status status = stub_->GetExperiment(&context, request, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(status.error_message(), HasSubstr("id: must"));
    }
    {
      grpc::ClientContext context;
      v1::CancelExperimentRequest request;
      request.set_id(id);
      v1::CancelExperimentResponse response;
      EXPECT_EQ(stub_->CancelExperiment(&context, request, &response).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      grpc::ClientContext context;
      v1::WatchExperimentRequest request;
      request.set_id(id);
      auto reader = stub_->WatchExperiment(&context, request);
      v1::ExperimentEvent event;
      while (reader->Read(&event)) {
      }
      EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      grpc::ClientContext context;
      v1::GetPlanRequest request;
      request.set_id(id);
      v1::GetPlanResponse response;
      EXPECT_EQ(stub_->GetPlan(&context, request, &response).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      grpc::ClientContext context;
      v1::CancelPlanRequest request;
      request.set_id(id);
      v1::CancelPlanResponse response;
      EXPECT_EQ(stub_->CancelPlan(&context, request, &response).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      grpc::ClientContext context;
      v1::SubmitExperimentRequest request;
      request.set_name(id);
      request.set_config_yaml(kConfig);
      v1::SubmitExperimentResponse response;
      grpc::Status status = stub_->SubmitExperiment(&context, request, &response);
      if (!id.empty()) {  // an empty name defaults to "experiment"
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_THAT(status.error_message(), HasSubstr("name: must match"));
      }
    }
  }
}

// docs/bad_input.md: a plan cannot make the scheduler read (and store) a file outside its
// config root.
TEST_F(SchedulerServiceImplTest, PlanConfigPathsOutsideTheConfigRootAreRejected) {
  for (const std::string path : {"/etc/passwd", "../../etc/passwd", "configs/../../x.yaml"}) {
    SCOPED_TRACE(path);
    v1::SubmitPlanRequest request;
    request.set_plan_yaml(absl::StrCat("name: p\nstages: [{name: one, runs: [{name: r1, config: \"",
                                       path, "\"}]}]\n"));
    v1::SubmitPlanResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitPlan(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                HasSubstr("stages[0].runs[0].config: must be a relative path without \"..\""));
  }
  grpc::ClientContext context;
  v1::ListPlansResponse plans;
  ASSERT_TRUE(stub_->ListPlans(&context, v1::ListPlansRequest(), &plans).ok());
  EXPECT_EQ(plans.plans_size(), 0);
}

TEST(SchedulerServiceImplWithoutPlansTest, PlanRpcsAreUnimplemented) {
  SchedulerServiceImpl impl(/*scheduler=*/nullptr);
  grpc::ServerContext context;
  v1::GetPlanRequest request;
  v1::GetPlanResponse response;
  EXPECT_EQ(impl.GetPlan(&context, &request, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace jepalab::scheduler
