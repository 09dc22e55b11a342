// MetricsSink that reports a run to metrics_service over gRPC: RegisterRun first, then points
// batched per step over a ReportMetrics client stream, state changes in order. Never blocks
// training for long and never fails the run when metrics_service is down.
#ifndef JEPALAB_TRAINER_SERVICE_SERVER_GRPC_METRICS_SINK_H_
#define JEPALAB_TRAINER_SERVICE_SERVER_GRPC_METRICS_SINK_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc_channel.h"
#include "proto/metrics.grpc.pb.h"
#include "trainer_service/core/metrics_sink.h"

namespace jepalab::trainer {

struct GrpcMetricsSinkOptions {
  std::string address;                   // host:port of metrics_service
  common::ClientSecurity security;       // TLS CA and bearer token; empty: plaintext, none
  metrics::v1::RunInfo run;              // registered before any point
  int64_t max_buffered_points = 200000;  // beyond: the oldest step batches are dropped
  absl::Duration rpc_timeout = absl::Seconds(5);
  absl::Duration flush_timeout = absl::Seconds(5);
  absl::Duration max_stream_age = absl::Seconds(2);  // points become durable at least this often
};

// Thread-safe. All RPCs run on one background thread, in the order of the calls.
class GrpcMetricsSink : public MetricsSink {
 public:
  explicit GrpcMetricsSink(const GrpcMetricsSinkOptions& options);
  ~GrpcMetricsSink() override;  // Close(flush_timeout)

  void Report(int64_t step, int32_t epoch, const MetricValues& values) override;
  // Waits (at most flush_timeout) until everything reported so far is acknowledged; returns at
  // once while metrics_service is unreachable.
  void Flush() override;
  // Queues UpdateRunState after the points reported so far.
  void UpdateRunState(common::v1::RunState state, const std::string& message);
  // Delivers what it can within `timeout`, then stops the background thread. Idempotent.
  void Close(absl::Duration timeout);

  int64_t dropped_points() const;

 private:
  struct Op {
    enum Kind { kRegister, kPoints, kState } kind;
    metrics::v1::ReportMetricsRequest points;
    common::v1::RunState state = common::v1::RUN_STATE_UNSPECIFIED;
    std::string message;
  };
  struct Stream;

  void Enqueue(Op op);
  void Loop();
  bool Process(const Op& op, Stream* stream);  // false: retry later
  bool FinishStream(Stream* stream);           // true: the stream's points are durable
  void SetHealthy(bool healthy) ABSL_LOCKS_EXCLUDED(mu_);
  bool IsHealthy() const ABSL_LOCKS_EXCLUDED(mu_);

  const GrpcMetricsSinkOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<metrics::v1::MetricsService::Stub> stub_;

  mutable absl::Mutex mu_;
  std::deque<Op> pending_ ABSL_GUARDED_BY(mu_);
  int64_t buffered_points_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t enqueued_ ABSL_GUARDED_BY(mu_) = 0;  // ops ever queued
  int64_t done_ ABSL_GUARDED_BY(mu_) = 0;      // ops acknowledged or given up
  int64_t dropped_points_ ABSL_GUARDED_BY(mu_) = 0;
  bool healthy_ ABSL_GUARDED_BY(mu_) = true;
  bool flush_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time give_up_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_SERVER_GRPC_METRICS_SINK_H_
