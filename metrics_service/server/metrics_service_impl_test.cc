#include "metrics_service/server/metrics_service_impl.h"

#include <grpcpp/client_context.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>

#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/rpc_auth.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics_service/core/metrics_core.h"
#include "metrics_service/core/prometheus_metrics.h"
#include "metrics_service/core/run_store.h"
#include "prometheus/registry.h"
#include "proto/common.pb.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::SizeIs;
using ::testing::StatusIs;

v1::MetricPoint Point(const std::string& run_id, const std::string& name, int64_t step,
                      double value) {
  v1::MetricPoint point;
  point.set_run_id(run_id);
  point.set_name(name);
  point.set_step(step);
  point.set_value(value);
  return point;
}

// The adapter over a real core on an in-memory SQLite store, reached through a real stub on
// the server's in-process channel (no port).
class MetricsServiceImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    JEPALAB_ASSERT_OK_AND_ASSIGN(store_, SqliteRunStore::Create(":memory:"));
    metrics_ = std::make_unique<PrometheusMetrics>(registry_, PrometheusMetricsOptions{});
    core_ = std::make_unique<MetricsCore>(store_.get(), metrics_.get(), &clock_);
    service_ = std::make_unique<MetricsServiceImpl>(core_.get());
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::MetricsService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Streams `batches` in one ReportMetrics call.
  absl::Status Report(const std::vector<v1::ReportMetricsRequest>& batches,
                      v1::ReportMetricsResponse* response) {
    grpc::ClientContext context;
    auto writer = stub_->ReportMetrics(&context, response);
    for (const v1::ReportMetricsRequest& batch : batches) {
      if (!writer->Write(batch)) break;  // the server ended the call; Finish() says why
    }
    writer->WritesDone();
    return common::FromGrpcStatus(writer->Finish());
  }

  absl::StatusOr<v1::GetRunHistoryResponse> History(const std::string& run_id) {
    grpc::ClientContext context;
    v1::GetRunHistoryRequest request;
    request.set_run_id(run_id);
    v1::GetRunHistoryResponse response;
    absl::Status status =
        common::FromGrpcStatus(stub_->GetRunHistory(&context, request, &response));
    if (!status.ok()) return status;
    return response;
  }

  ::jepalab::testing::FakeClock clock_;
  prometheus::Registry registry_;
  std::unique_ptr<SqliteRunStore> store_;
  std::unique_ptr<PrometheusMetrics> metrics_;
  std::unique_ptr<MetricsCore> core_;
  std::unique_ptr<MetricsServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::MetricsService::Stub> stub_;
};

TEST_F(MetricsServiceImplTest, ReportMetricsStreamCountsAcceptedPoints) {
  std::vector<v1::ReportMetricsRequest> batches(3);
  for (int b = 0; b < 3; ++b) {
    for (int p = 0; p < 4; ++p) {
      *batches[b].add_points() = Point("exp-s1", "loss/total", b * 4 + p, 1.0 / (1 + b * 4 + p));
    }
  }
  v1::ReportMetricsResponse response;
  ASSERT_THAT(Report(batches, &response), IsOk());
  EXPECT_EQ(response.accepted_points(), 12);

  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetRunHistoryResponse history, History("exp-s1"));
  ASSERT_THAT(history.series(), SizeIs(1));
  ASSERT_THAT(history.series(0).points(), SizeIs(12));
  EXPECT_EQ(history.series(0).points(11).step(), 11);
  EXPECT_DOUBLE_EQ(history.series(0).points(11).value(), 1.0 / 12);
}

TEST_F(MetricsServiceImplTest, BadBatchEndsTheStreamKeepingEarlierBatches) {
  std::vector<v1::ReportMetricsRequest> batches(2);
  *batches[0].add_points() = Point("exp-s1", "grad_norm", 1, 0.5);
  *batches[1].add_points() = Point("exp-s1", "grad_norm", 2, 0.5);
  batches[1].mutable_points(0)->set_step(-4);
  v1::ReportMetricsResponse response;
  EXPECT_THAT(Report(batches, &response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("batch 1: points[0].step: must be >= 0, got -4")));

  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetRunHistoryResponse history, History("exp-s1"));
  ASSERT_THAT(history.series(), SizeIs(1));
  EXPECT_THAT(history.series(0).points(), SizeIs(1));
}

// docs/bad_input.md: a NaN in a later batch of a stream costs nothing already sent.
TEST_F(MetricsServiceImplTest, NanInALaterBatchKeepsEarlierBatches) {
  std::vector<v1::ReportMetricsRequest> batches(3);
  *batches[0].add_points() = Point("exp-s1", "loss/total", 0, 1.0);
  *batches[1].add_points() = Point("exp-s1", "loss/total", 1, 0.5);
  *batches[2].add_points() = Point("exp-s1", "loss/total", 2, std::nan(""));
  v1::ReportMetricsResponse response;
  EXPECT_THAT(Report(batches, &response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("batch 2: points[0].value: must be finite, got nan")));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetRunHistoryResponse history, History("exp-s1"));
  ASSERT_THAT(history.series(), SizeIs(1));
  ASSERT_THAT(history.series(0).points(), SizeIs(2));
  EXPECT_EQ(history.series(0).points(1).step(), 1);
}

// docs/bad_input.md: empty ids and ids with path characters, on every RPC that takes one.
TEST_F(MetricsServiceImplTest, BadRunIdsAreInvalidArgumentOnEveryRpc) {
  for (const std::string id : {"", "../x", "a/b", "/etc/passwd"}) {
    SCOPED_TRACE(id);
    const std::string expected = id.empty() ? "run_id: must not be empty" : "run_id: must match";
    {
      v1::ReportMetricsRequest batch;
      *batch.add_points() = Point(id, "loss/total", 0, 1.0);
      v1::ReportMetricsResponse response;
      EXPECT_THAT(Report({batch}, &response),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(expected)));
    }
    {
      grpc::ClientContext context;
      v1::RegisterRunRequest request;
      request.mutable_run()->set_run_id(id);
      v1::RegisterRunResponse response;
      EXPECT_THAT(common::FromGrpcStatus(stub_->RegisterRun(&context, request, &response)),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(expected)));
    }
    {
      grpc::ClientContext context;
      v1::UpdateRunStateRequest request;
      request.set_run_id(id);
      request.set_state(common::v1::RUN_STATE_RUNNING);
      v1::UpdateRunStateResponse response;
      EXPECT_THAT(common::FromGrpcStatus(stub_->UpdateRunState(&context, request, &response)),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(expected)));
    }
    EXPECT_THAT(History(id).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(expected)));
    {
      grpc::ClientContext context;
      v1::CompareRunsRequest request;
      request.add_run_ids(id);
      v1::CompareRunsResponse response;
      EXPECT_THAT(common::FromGrpcStatus(stub_->CompareRuns(&context, request, &response)),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_ids[0]")));
    }
    {
      grpc::ClientContext context;
      v1::GetCollapseStatusRequest request;
      request.set_run_id(id);
      v1::GetCollapseStatusResponse response;
      EXPECT_THAT(common::FromGrpcStatus(stub_->GetCollapseStatus(&context, request, &response)),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(expected)));
    }
  }
  grpc::ClientContext context;
  v1::ListRunsResponse runs;
  ASSERT_TRUE(stub_->ListRuns(&context, v1::ListRunsRequest(), &runs).ok());
  EXPECT_EQ(runs.runs_size(), 0);
}

// docs/security.md: with a token, ReportMetrics, RegisterRun and UpdateRunState need it and
// store nothing without it; queries stay open.
TEST_F(MetricsServiceImplTest, MutatingRpcsNeedTheBearerTokenReadOnlyOnesDoNot) {
  MetricsServiceImpl guarded(core_.get(), common::RpcAuthorizer("s3cret"));
  grpc::ServerBuilder builder;
  builder.RegisterService(&guarded);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto open = v1::MetricsService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  auto with_token =
      v1::MetricsService::NewStub(server->experimental().InProcessChannelWithInterceptors(
          grpc::ChannelArguments(), common::BearerTokenInterceptors("s3cret")));

  v1::ReportMetricsRequest batch;
  *batch.add_points() = Point("r1", "loss/total", 0, 1.0);
  auto report = [&](v1::MetricsService::Stub* stub) {
    grpc::ClientContext context;
    v1::ReportMetricsResponse response;
    auto writer = stub->ReportMetrics(&context, &response);
    writer->Write(batch);
    writer->WritesDone();
    return writer->Finish();
  };
  grpc::Status refused = report(open.get());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(refused.error_message(), HasSubstr("ReportMetrics"));
  {
    grpc::ClientContext context;
    v1::RegisterRunRequest request;
    request.mutable_run()->set_run_id("r1");
    v1::RegisterRunResponse response;
    EXPECT_EQ(open->RegisterRun(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    v1::UpdateRunStateRequest request;
    request.set_run_id("r1");
    request.set_state(common::v1::RUN_STATE_RUNNING);
    v1::UpdateRunStateResponse response;
    EXPECT_EQ(open->UpdateRunState(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    v1::ListRunsResponse runs;
    ASSERT_TRUE(open->ListRuns(&context, v1::ListRunsRequest(), &runs).ok());
    EXPECT_EQ(runs.runs_size(), 0);
  }
  ASSERT_TRUE(report(with_token.get()).ok());
  {
    grpc::ClientContext context;
    v1::GetRunHistoryRequest request;
    request.set_run_id("r1");
    v1::GetRunHistoryResponse history;
    ASSERT_TRUE(open->GetRunHistory(&context, request, &history).ok());
    ASSERT_THAT(history.series(), SizeIs(1));
  }
  server->Shutdown();
}

// docs/bad_input.md: a message over the server's limit is RESOURCE_EXHAUSTED; batches before
// it in the same stream stay stored.
TEST_F(MetricsServiceImplTest, OversizedBatchIsResourceExhaustedKeepingEarlierBatches) {
  // The limit GrpcServerOptions.max_message_bytes sets (16 MiB in the services), scaled down.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(4096);
  MetricsServiceImpl service(core_.get());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::MetricsService::NewStub(
      common::CreateClientChannel(absl::StrCat("127.0.0.1:", port), common::ClientSecurity()));
  v1::ReportMetricsRequest small;
  *small.add_points() = Point("big-run", "loss/total", 0, 1.0);
  v1::ReportMetricsRequest big;
  for (int i = 0; i < 500; ++i) *big.add_points() = Point("big-run", "loss/total", 1 + i, 1.0);
  ASSERT_GT(big.ByteSizeLong(), 4096u);

  grpc::ClientContext context;
  v1::ReportMetricsResponse response;
  auto writer = stub->ReportMetrics(&context, &response);
  ASSERT_TRUE(writer->Write(small));
  writer->Write(big);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetRunHistoryResponse history, History("big-run"));
  ASSERT_THAT(history.series(), SizeIs(1));
  ASSERT_THAT(history.series(0).points(), SizeIs(1));
  server->Shutdown();
}

TEST_F(MetricsServiceImplTest, RunLifecycleAndQueries) {
  grpc::ClientContext register_context;
  v1::RegisterRunRequest register_request;
  register_request.mutable_run()->set_run_id("exp-s1");
  register_request.mutable_run()->set_experiment("exp");
  register_request.mutable_run()->set_config_hash("c0ffee");
  register_request.mutable_run()->set_state(common::v1::RUN_STATE_RUNNING);
  v1::RegisterRunResponse register_response;
  ASSERT_THAT(common::FromGrpcStatus(
                  stub_->RegisterRun(&register_context, register_request, &register_response)),
              IsOk());
  EXPECT_EQ(register_response.run().experiment(), "exp");
  EXPECT_EQ(register_response.run().created_unix_ms(), clock_.NowUnixMillis());

  v1::ReportMetricsRequest batch;
  *batch.add_points() = Point("exp-s1", "loss/total", 3, 2.0);
  *batch.add_points() = Point("exp-s1", "loss/total", 8, 1.0);
  v1::ReportMetricsResponse report_response;
  ASSERT_THAT(Report({batch}, &report_response), IsOk());

  grpc::ClientContext update_context;
  v1::UpdateRunStateRequest update;
  update.set_run_id("exp-s1");
  update.set_state(common::v1::RUN_STATE_EARLY_STOPPED);
  update.set_message("val/loss flat for 5 epochs");
  v1::UpdateRunStateResponse update_response;
  ASSERT_THAT(
      common::FromGrpcStatus(stub_->UpdateRunState(&update_context, update, &update_response)),
      IsOk());
  EXPECT_EQ(update_response.run().state(), common::v1::RUN_STATE_EARLY_STOPPED);
  EXPECT_EQ(update_response.run().message(), "val/loss flat for 5 epochs");

  grpc::ClientContext list_context;
  v1::ListRunsRequest list;
  list.set_experiment("exp");
  v1::ListRunsResponse list_response;
  ASSERT_THAT(common::FromGrpcStatus(stub_->ListRuns(&list_context, list, &list_response)), IsOk());
  ASSERT_THAT(list_response.runs(), SizeIs(1));
  EXPECT_EQ(list_response.runs(0).num_points(), 2);
  EXPECT_EQ(list_response.runs(0).last_step(), 8);
  EXPECT_EQ(list_response.runs(0).config_hash(), "c0ffee");

  grpc::ClientContext compare_context;
  v1::CompareRunsRequest compare;
  compare.add_run_ids("exp-s1");
  v1::CompareRunsResponse compare_response;
  ASSERT_THAT(
      common::FromGrpcStatus(stub_->CompareRuns(&compare_context, compare, &compare_response)),
      IsOk());
  ASSERT_THAT(compare_response.runs(), SizeIs(1));
  ASSERT_THAT(compare_response.runs(0).metrics(), SizeIs(1));
  EXPECT_DOUBLE_EQ(compare_response.runs(0).metrics(0).min(), 1.0);
  EXPECT_EQ(compare_response.runs(0).metrics(0).min_step(), 8);
}

TEST_F(MetricsServiceImplTest, MapsCoreErrorsToGrpcCodes) {
  grpc::ClientContext register_context;
  v1::RegisterRunRequest bad;
  bad.mutable_run()->set_run_id("no/slashes");
  v1::RegisterRunResponse register_response;
  grpc::Status status = stub_->RegisterRun(&register_context, bad, &register_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("run.run_id"));

  EXPECT_THAT(History("never-seen"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("never-seen")));

  grpc::ClientContext update_context;
  v1::UpdateRunStateRequest update;
  update.set_run_id("never-seen");
  update.set_state(common::v1::RUN_STATE_FAILED);
  v1::UpdateRunStateResponse update_response;
  EXPECT_EQ(stub_->UpdateRunState(&update_context, update, &update_response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext compare_context;
  v1::CompareRunsResponse compare_response;
  EXPECT_EQ(stub_->CompareRuns(&compare_context, {}, &compare_response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(MetricsServiceImplTest, WatchCollapseEventsStreamsCurrentAndNewEvents) {
  v1::ReportMetricsResponse response;
  v1::ReportMetricsRequest batch;
  *batch.add_points() = Point("r1", "diagnostics/vq/usage_ratio", 1, 0.01);
  ASSERT_THAT(Report({batch}, &response), IsOk());

  grpc::ClientContext context;
  v1::WatchCollapseEventsRequest request;
  request.set_include_current(true);
  std::unique_ptr<grpc::ClientReader<v1::CollapseEvent>> reader =
      stub_->WatchCollapseEvents(&context, request);
  v1::CollapseEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.run_id(), "r1");
  EXPECT_EQ(event.indicator(), "codebook_usage");
  EXPECT_EQ(event.state(), v1::COLLAPSE_STATE_COLLAPSED);

  // Reported after the subscription: arrives on the open stream.
  v1::ReportMetricsRequest collapse;
  *collapse.add_points() = Point("r2", "diagnostics/context/rankme", 4, 1.0);
  ASSERT_THAT(Report({collapse}, &response), IsOk());
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.run_id(), "r2");
  EXPECT_EQ(event.indicator(), "embedding_rank");
  EXPECT_EQ(event.encoder(), "context");
  EXPECT_EQ(event.step(), 4);
  EXPECT_TRUE(event.first_trigger());

  context.TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(MetricsServiceImplTest, WatchCollapseEventsRejectsABadFilter) {
  grpc::ClientContext context;
  v1::WatchCollapseEventsRequest request;
  request.add_run_ids("not an id");
  auto reader = stub_->WatchCollapseEvents(&context, request);
  v1::CollapseEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_THAT(common::FromGrpcStatus(reader->Finish()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_ids[0]")));
}

TEST_F(MetricsServiceImplTest, GetCollapseStatus) {
  v1::ReportMetricsResponse response;
  v1::ReportMetricsRequest batch;
  *batch.add_points() = Point("r1", "val/loss", 1, 2.0);
  ASSERT_THAT(Report({batch}, &response), IsOk());
  grpc::ClientContext context;
  v1::GetCollapseStatusRequest request;
  request.set_run_id("r1");
  v1::GetCollapseStatusResponse status;
  ASSERT_TRUE(stub_->GetCollapseStatus(&context, request, &status).ok());
  ASSERT_THAT(status.detectors(), SizeIs(1));
  EXPECT_EQ(status.detectors(0).indicator(), "validation_spike");
  EXPECT_EQ(status.detectors(0).state(), v1::COLLAPSE_STATE_OK);

  grpc::ClientContext missing_context;
  request.set_run_id("missing");
  EXPECT_THAT(common::FromGrpcStatus(stub_->GetCollapseStatus(&missing_context, request, &status)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
}

}  // namespace
}  // namespace jepalab::metrics
