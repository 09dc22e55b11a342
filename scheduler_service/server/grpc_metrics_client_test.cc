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
  std::vector<std::string> names_;
};

class GrpcMetricsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;  // no port: in-process only
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<GrpcMetricsClient>(server_->InProcessChannel(grpc::ChannelArguments()));
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

}  // namespace
}  // namespace jepalab::scheduler
