#include "scheduler_service/server/grpc_metrics_client.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

namespace met = ::jepalab::metrics::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

// Answers for run "r1" only; records the names asked for.
class CannedMetrics final : public met::MetricsService::Service {
 public:
  grpc::Status GetRunHistory(grpc::ServerContext*, const met::GetRunHistoryRequest* request,
                             met::GetRunHistoryResponse* response) override {
    if (request->run_id() != "r1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("run ", request->run_id()));
    }
    names_.assign(request->names().begin(), request->names().end());
    response->set_run_id("r1");
    met::Series* series = response->add_series();
    series->set_name("val/loss");
    series->add_points()->set_value(1.5);
    return grpc::Status::OK;
  }
  grpc::Status GetCollapseStatus(grpc::ServerContext*, const met::GetCollapseStatusRequest* request,
                                 met::GetCollapseStatusResponse* response) override {
    if (request->run_id() != "r1") return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown");
    met::DetectorStatus* rank = response->add_detectors();
    rank->set_indicator("embedding_rank");
    rank->set_encoder("target");
    rank->set_first_collapse_step(300);
    met::DetectorStatus* usage = response->add_detectors();
    usage->set_indicator("codebook_usage");
    usage->set_first_collapse_step(-1);
    return grpc::Status::OK;
  }
  // Two events of the first requested run, then the end of the stream; "endless" keeps writing
  // until the client goes away.
  grpc::Status WatchCollapseEvents(grpc::ServerContext*,
                                   const met::WatchCollapseEventsRequest* request,
                                   grpc::ServerWriter<met::CollapseEvent>* writer) override {
    watch_request_ = *request;
    met::CollapseEvent event;
    event.set_run_id(request->run_ids(0));
    event.set_indicator("embedding_rank");
    event.set_state(met::COLLAPSE_STATE_COLLAPSED);
    if (request->run_ids(0) == "endless") {
      for (int step = 0; step < 100000; ++step) {
        event.set_step(step);
        if (!writer->Write(event)) return grpc::Status::OK;
      }
      return grpc::Status(grpc::StatusCode::INTERNAL, "client never went away");
    }
    for (int step : {100, 200}) {
      event.set_step(step);
      writer->Write(event);
    }
    return grpc::Status::OK;
  }
  std::vector<std::string> names_;
  met::WatchCollapseEventsRequest watch_request_;
};

class GrpcMetricsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;  // no port: in-process only
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ =
        std::make_unique<GrpcMetricsClient>(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  CannedMetrics service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcMetricsClient> client_;
};

TEST_F(GrpcMetricsClientTest, GetRunHistoryTranslatesRequestAndSeries) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<met::Series> series,
                               client_->GetRunHistory("r1", {"val/loss", "loss/total"}));
  EXPECT_THAT(service_.names_, ElementsAre("val/loss", "loss/total"));
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].name(), "val/loss");
  EXPECT_EQ(series[0].points(0).value(), 1.5);
}

TEST_F(GrpcMetricsClientTest, GetCollapseStatusReducesDetectors) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(CollapseSummary summary, client_->GetCollapseStatus("r1"));
  EXPECT_EQ(summary.first_collapse_step, 300);
  EXPECT_EQ(summary.indicator, "embedding_rank/target");
}

TEST_F(GrpcMetricsClientTest, KeepsTheStatusCode) {
  EXPECT_THAT(client_->GetRunHistory("r2", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("r2")));
  EXPECT_THAT(client_->GetCollapseStatus("r2"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown")));
}

TEST(GrpcMetricsClientUnreachableTest, DownServiceIsUnavailable) {
  GrpcMetricsClientOptions options;
  options.rpc_timeout = absl::Seconds(2);
  auto client = GrpcMetricsClient::Create("127.0.0.1:1", options);
  EXPECT_THAT(client->GetRunHistory("r1", {}),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
}

TEST_F(GrpcMetricsClientTest, WatchCollapseEventsDeliversEventsUntilTheStreamEnds) {
  CancelToken cancel;
  std::vector<int64_t> steps;
  EXPECT_THAT(
      client_->WatchCollapseEvents(
          {"r1", "r2"}, [&](const met::CollapseEvent& e) { steps.push_back(e.step()); }, &cancel),
      IsOk());
  EXPECT_THAT(steps, ElementsAre(100, 200));
  EXPECT_THAT(service_.watch_request_.run_ids(), ElementsAre("r1", "r2"));
  EXPECT_TRUE(service_.watch_request_.include_current());
}

TEST_F(GrpcMetricsClientTest, WatchCollapseEventsStopsWhenTheCallbackCancels) {
  CancelToken cancel;
  int events = 0;
  EXPECT_THAT(client_->WatchCollapseEvents(
                  {"endless"},
                  [&](const met::CollapseEvent&) {
                    ++events;
                    cancel.Cancel();
                  },
                  &cancel),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  EXPECT_EQ(events, 1);
}

}  // namespace
}  // namespace jepalab::scheduler
