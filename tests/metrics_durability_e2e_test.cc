// Durability end to end: the real metrics_server is killed with SIGKILL in the middle of a
// ReportMetrics stream and restarted on the same --data_dir; a client that re-sends every batch
// it got no response for ends with every point stored exactly once, and no acknowledged point
// is ever missing. The restart also rebuilds the collapse detectors from the stored history.
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/common.pb.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::jepalab::testing::HttpGet;
using ::jepalab::testing::MakeTempDir;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceProcess;
namespace met = ::jepalab::metrics::v1;

// The stream: kBatches batches of kStepsPerBatch steps x kNames series each.
constexpr int kBatches = 120;
constexpr int kStepsPerBatch = 10;
constexpr const char* kNames[] = {"loss/total", "grad_norm", "lr", "custom/a", "custom/b"};
constexpr int kNumNames = sizeof(kNames) / sizeof(kNames[0]);
constexpr int kPointsPerBatch = kStepsPerBatch * kNumNames;
constexpr int kBatchesPerStream = 10;
// Acknowledged before the stream that the kill interrupts.
constexpr int kAckedBeforeKill = 40;
// The kill comes once at least this many batches of the interrupted stream are stored, so
// that some re-sent batches replace stored points (and must not duplicate them).
constexpr int kStoredUnackedBeforeKill = 5;

constexpr char kRun[] = "durable";
constexpr char kCollapsedRun[] = "collapsed";
constexpr absl::Duration kRpcTimeout = absl::Seconds(30);

std::string ReadFile(const std::string& path) { return jepalab::testing::ReadTextFile(path); }

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
}

double ValueOf(int name_index, int64_t step) { return name_index * 1000.0 + step * 0.25; }

met::MetricPoint Point(const std::string& run_id, const std::string& name, int64_t step,
                       double value) {
  met::MetricPoint point;
  point.set_run_id(run_id);
  point.set_name(name);
  point.set_step(step);
  point.set_epoch(1);
  point.set_value(value);
  return point;
}

met::ReportMetricsRequest Batch(int index) {
  met::ReportMetricsRequest batch;
  for (int64_t step = int64_t{index} * kStepsPerBatch; step < (index + 1) * kStepsPerBatch;
       ++step) {
    for (int n = 0; n < kNumNames; ++n) {
      *batch.add_points() = Point(kRun, kNames[n], step, ValueOf(n, step));
    }
  }
  return batch;
}

class MetricsDurabilityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir("durability_");
    data_dir_ = root_ + "/metrics";
    StartServer();
  }

  // (Re)starts metrics_server on data_dir_, on fresh ports.
  void StartServer() {
    ++starts_;
    const std::string http_port_file = absl::StrCat(root_, "/http_port_", starts_);
    JEPALAB_ASSERT_OK_AND_ASSIGN(
        server_,
        ServiceProcess::Start(
            absl::StrCat("metrics_", starts_), RunfilePath("metrics_service/metrics_server"),
            {"--data_dir=" + data_dir_, "--http_port=0", "--http_port_file=" + http_port_file}));
    ASSERT_TRUE(
        absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(http_port_file)), &http_port_));
    stub_ = met::MetricsService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  // One ReportMetrics stream of batches [first, last); OK only if the response came back.
  grpc::Status SendStream(int first, int last, int64_t* accepted) {
    grpc::ClientContext context;
    SetDeadline(context);
    met::ReportMetricsResponse response;
    auto writer = stub_->ReportMetrics(&context, &response);
    for (int i = first; i < last; ++i) {
      if (!writer->Write(Batch(i))) break;  // the server went away: Finish says why
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    *accepted = response.accepted_points();
    return status;
  }

  void SendAcknowledged(int first, int last) {
    for (int begin = first; begin < last; begin += kBatchesPerStream) {
      const int end = std::min(begin + kBatchesPerStream, last);
      int64_t accepted = 0;
      const grpc::Status status = SendStream(begin, end, &accepted);
      ASSERT_TRUE(status.ok()) << "batches [" << begin << ", " << end
                               << "): " << status.error_message();
      ASSERT_EQ(accepted, int64_t{end - begin} * kPointsPerBatch);
    }
  }

  void Register(const std::string& run_id) {
    grpc::ClientContext context;
    SetDeadline(context);
    met::RegisterRunRequest request;
    request.mutable_run()->set_run_id(run_id);
    request.mutable_run()->set_experiment("durability");
    request.mutable_run()->set_state(common::v1::RUN_STATE_RUNNING);
    met::RegisterRunResponse response;
    const grpc::Status status = stub_->RegisterRun(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // num_points of the run as ListRuns reports it (one per stored (name, step)).
  absl::StatusOr<int64_t> StoredPoints(const std::string& run_id) {
    grpc::ClientContext context;
    SetDeadline(context);
    met::ListRunsRequest request;
    request.set_experiment("durability");
    met::ListRunsResponse response;
    const grpc::Status status = stub_->ListRuns(&context, request, &response);
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    for (const met::RunInfo& run : response.runs()) {
      if (run.run_id() == run_id) return run.num_points();
    }
    return absl::NotFoundError(run_id);
  }

  met::GetRunHistoryResponse History(const std::string& run_id) {
    grpc::ClientContext context;
    SetDeadline(context);
    met::GetRunHistoryRequest request;
    request.set_run_id(run_id);
    met::GetRunHistoryResponse response;
    const grpc::Status status = stub_->GetRunHistory(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  met::GetCollapseStatusResponse CollapseStatus(const std::string& run_id) {
    grpc::ClientContext context;
    SetDeadline(context);
    met::GetCollapseStatusRequest request;
    request.set_run_id(run_id);
    met::GetCollapseStatusResponse response;
    const grpc::Status status = stub_->GetCollapseStatus(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Steps [0, end_step) of every series of the run are stored exactly once, with their values.
  void ExpectEveryPointOnce(int64_t end_step) {
    const met::GetRunHistoryResponse history = History(kRun);
    ASSERT_EQ(history.series_size(), kNumNames);
    for (const met::Series& series : history.series()) {
      const auto name = std::find_if(std::begin(kNames), std::end(kNames),
                                     [&](const char* n) { return series.name() == n; });
      ASSERT_NE(name, std::end(kNames)) << series.name();
      const int name_index = static_cast<int>(name - std::begin(kNames));
      ASSERT_GE(series.points_size(), end_step) << series.name();
      for (int64_t step = 0; step < end_step; ++step) {
        // Sorted by step, so a duplicate or a gap shifts every later step.
        ASSERT_EQ(series.points(step).step(), step) << series.name();
        ASSERT_EQ(series.points(step).value(), ValueOf(name_index, step)) << series.name();
      }
    }
  }

  std::string root_;
  std::string data_dir_;
  int starts_ = 0;
  int http_port_ = 0;
  std::unique_ptr<ServiceProcess> server_;
  std::unique_ptr<met::MetricsService::Stub> stub_;
};

TEST_F(MetricsDurabilityE2eTest, KillMidStreamThenResendStoresEveryPointExactlyOnce) {
  Register(kRun);
  Register(kCollapsedRun);
  // A run whose context-encoder RankMe collapses at step 5, before the kill.
  {
    met::ReportMetricsRequest batch;
    for (int64_t step = 0; step < 10; ++step) {
      *batch.add_points() =
          Point(kCollapsedRun, "diagnostics/context/rankme", step, step < 5 ? 9.0 : 1.0);
      *batch.add_points() = Point(kCollapsedRun, "diagnostics/target/rankme", step, 9.0);
    }
    grpc::ClientContext context;
    SetDeadline(context);
    met::ReportMetricsResponse response;
    auto writer = stub_->ReportMetrics(&context, &response);
    ASSERT_TRUE(writer->Write(batch));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  const met::GetCollapseStatusResponse collapsed_before = CollapseStatus(kCollapsedRun);
  bool saw_rank_collapse = false;
  for (const met::DetectorStatus& detector : collapsed_before.detectors()) {
    if (detector.indicator() == "embedding_rank" && detector.encoder() == "context") {
      saw_rank_collapse = true;
      EXPECT_EQ(detector.state(), met::COLLAPSE_STATE_COLLAPSED);
      EXPECT_EQ(detector.first_collapse_step(), 5);
    }
  }
  ASSERT_TRUE(saw_rank_collapse) << collapsed_before.DebugString();

  // Acknowledged streams.
  SendAcknowledged(0, kAckedBeforeKill);
  JEPALAB_ASSERT_OK_AND_ASSIGN(const int64_t acked_points, StoredPoints(kRun));
  ASSERT_EQ(acked_points, int64_t{kAckedBeforeKill} * kPointsPerBatch);

  // The interrupted stream: every later batch, written as fast as the server reads them; the
  // stream stays open (no WritesDone) until the server has been killed, so none is acknowledged.
  absl::Notification killed;
  int written = 0;
  grpc::Status interrupted;
  std::thread client([&] {
    grpc::ClientContext context;
    SetDeadline(context);
    met::ReportMetricsResponse response;
    auto writer = stub_->ReportMetrics(&context, &response);
    for (int i = kAckedBeforeKill; i < kBatches && writer->Write(Batch(i)); ++i) ++written;
    killed.WaitForNotification();
    writer->WritesDone();
    interrupted = writer->Finish();
  });
  const int64_t kill_threshold =
      int64_t{kAckedBeforeKill + kStoredUnackedBeforeKill} * kPointsPerBatch;
  int64_t stored_before_kill = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (stored_before_kill < kill_threshold && absl::Now() < deadline) {
    absl::StatusOr<int64_t> stored = StoredPoints(kRun);
    if (stored.ok()) stored_before_kill = *stored;
    if (stored_before_kill < kill_threshold) absl::SleepFor(absl::Milliseconds(5));  // poll
  }
  server_->Kill();  // SIGKILL: no shutdown, no flush beyond what each commit did
  killed.Notify();
  client.join();
  ASSERT_GE(stored_before_kill, kill_threshold) << "the server never stored the stream's batches";
  RecordProperty("batches_written_before_kill", written);
  RecordProperty("points_seen_stored_before_kill", static_cast<int>(stored_before_kill));
  EXPECT_FALSE(interrupted.ok()) << "a killed server cannot have acknowledged the stream";
  EXPECT_GE(written, kStoredUnackedBeforeKill);

  // Restart on the same data directory: every acknowledged point is there, and so is every
  // point seen stored before the kill.
  StartServer();
  JEPALAB_ASSERT_OK_AND_ASSIGN(const int64_t after_restart, StoredPoints(kRun));
  EXPECT_GE(after_restart, stored_before_kill);
  RecordProperty("points_stored_after_restart", static_cast<int>(after_restart));
  EXPECT_LE(after_restart, int64_t{kBatches} * kPointsPerBatch);
  ExpectEveryPointOnce(int64_t{kAckedBeforeKill} * kStepsPerBatch);

  // The detectors were rebuilt from the stored history: the collapsed run is still collapsed,
  // with the same first-trigger step, on gRPC and on /metrics.
  const met::GetCollapseStatusResponse collapsed_after = CollapseStatus(kCollapsedRun);
  EXPECT_TRUE(MessageDifferencer::Equals(collapsed_before, collapsed_after))
      << "before:\n"
      << collapsed_before.DebugString() << "after:\n"
      << collapsed_after.DebugString();
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::string exposition, HttpGet(http_port_, "/metrics"));
  bool exported_collapsed = false;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (absl::StartsWith(line, "jepalab_collapse_state{") &&
        absl::StrContains(line, "run=\"collapsed\"") &&
        absl::StrContains(line, "indicator=\"embedding_rank\"") &&
        absl::StrContains(line, "encoder=\"context\"")) {
      exported_collapsed = true;
      EXPECT_TRUE(absl::EndsWith(line, " 3")) << line;
    }
  }
  EXPECT_TRUE(exported_collapsed) << exposition;

  // The client re-sends every batch it has no response for; some replace stored points.
  SendAcknowledged(kAckedBeforeKill, kBatches);
  JEPALAB_ASSERT_OK_AND_ASSIGN(const int64_t final_points, StoredPoints(kRun));
  EXPECT_EQ(final_points, int64_t{kBatches} * kPointsPerBatch);
  ExpectEveryPointOnce(int64_t{kBatches} * kStepsPerBatch);
  const met::GetRunHistoryResponse history = History(kRun);
  for (const met::Series& series : history.series()) {
    EXPECT_EQ(series.points_size(), kBatches * kStepsPerBatch) << series.name();
  }
}

}  // namespace
}  // namespace jepalab
