#include "trainer_service/server/grpc_metrics_sink.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab::trainer {
namespace {

namespace mv1 = ::jepalab::metrics::v1;

// Records what a metrics_service would store.
class FakeMetricsService final : public mv1::MetricsService::Service {
 public:
  grpc::Status RegisterRun(grpc::ServerContext*, const mv1::RegisterRunRequest* request,
                           mv1::RegisterRunResponse* response) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("register:" + request->run().run_id() + ":" + request->run().config_hash());
    *response->mutable_run() = request->run();
    return grpc::Status::OK;
  }
  grpc::Status UpdateRunState(grpc::ServerContext*, const mv1::UpdateRunStateRequest* request,
                              mv1::UpdateRunStateResponse*) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(
        absl::StrCat("state:", common::v1::RunState_Name(request->state()), ":", points_.size()));
    return grpc::Status::OK;
  }
  grpc::Status ReportMetrics(grpc::ServerContext*,
                             grpc::ServerReader<mv1::ReportMetricsRequest>* reader,
                             mv1::ReportMetricsResponse* response) override {
    mv1::ReportMetricsRequest request;
    while (reader->Read(&request)) {
      absl::MutexLock lock(&mu_);
      for (const auto& p : request.points())
        points_[{p.name(), p.step()}] = p.value();  // idempotent
      response->set_accepted_points(response->accepted_points() + request.points_size());
    }
    return grpc::Status::OK;
  }
  size_t points() {
    absl::MutexLock lock(&mu_);
    return points_.size();
  }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::pair<std::string, int64_t>, double> points_;
  std::vector<std::string> calls_;
};

std::unique_ptr<grpc::Server> StartServer(grpc::Service* service, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

GrpcMetricsSinkOptions Options(const std::string& address) {
  GrpcMetricsSinkOptions options;
  options.address = address;
  options.run.set_run_id("r1");
  options.run.set_config_hash("abc");
  options.flush_timeout = absl::Seconds(10);
  return options;
}

TEST(GrpcMetricsSinkTest, RegistersThenStreamsPointsThenState) {
  FakeMetricsService fake;
  int port = 0;
  auto server = StartServer(&fake, &port);
  ASSERT_GT(port, 0);
  GrpcMetricsSink sink(Options(absl::StrCat("127.0.0.1:", port)));
  for (int step = 1; step <= 50; ++step)
    sink.Report(step, 1, {{"loss/total", 1.0 / step}, {"lr", 0.1}});
  sink.Flush();
  EXPECT_EQ(fake.points(), 100u);  // durable once Flush returns
  sink.UpdateRunState(common::v1::RUN_STATE_SUCCEEDED, "done");
  sink.Close(absl::Seconds(10));
  EXPECT_THAT(fake.calls(),
              ::testing::ElementsAre("register:r1:abc", "state:RUN_STATE_SUCCEEDED:100"));
  EXPECT_EQ(sink.dropped_points(), 0);
  server->Shutdown();
}

TEST(GrpcMetricsSinkTest, ServiceDownNeverBlocksForLong) {
  // Nothing listens on this port (a server was bound and shut down).
  FakeMetricsService fake;
  int port = 0;
  auto server = StartServer(&fake, &port);
  server->Shutdown();
  server.reset();
  auto options = Options(absl::StrCat("127.0.0.1:", port));
  options.max_buffered_points = 10;
  // Longer than the test's own timeout: Flush can only return because the first RPC failed.
  options.flush_timeout = absl::Hours(1);
  GrpcMetricsSink sink(options);
  for (int step = 1; step <= 20; ++step) sink.Report(step, 1, {{"lr", 0.1}});
  sink.Flush();                         // returns once the sink found metrics_service unreachable
  EXPECT_GE(sink.dropped_points(), 9);  // bounded buffer
  sink.Close(absl::Milliseconds(500));
}

TEST(GrpcMetricsSinkTest, BuffersUntilTheServiceComesUp) {
  FakeMetricsService fake;
  // Reserve a port, then free it and start the real server on it once the sink failed to reach it.
  int port = 0;
  {
    auto probe = StartServer(&fake, &port);
    probe->Shutdown();
  }
  auto options = Options(absl::StrCat("127.0.0.1:", port));
  options.flush_timeout = absl::Hours(1);  // as above: Flush returns on the failure, not a timeout
  GrpcMetricsSink sink(options);
  for (int step = 1; step <= 5; ++step) sink.Report(step, 1, {{"lr", 0.1}});
  sink.Flush();  // the first RPC failed: the points are buffered for a retry
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
  builder.RegisterService(&fake);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  sink.UpdateRunState(common::v1::RUN_STATE_SUCCEEDED, "");
  sink.Close(absl::Seconds(20));  // retries with backoff until delivered
  EXPECT_EQ(fake.points(), 5u);
  EXPECT_THAT(fake.calls(),
              ::testing::ElementsAre("register:r1:abc", "state:RUN_STATE_SUCCEEDED:5"));
  server->Shutdown();
}

}  // namespace
}  // namespace jepalab::trainer
