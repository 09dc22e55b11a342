// One simulated trainer: RegisterRun, then paced steps over ReportMetrics client streams that
// are closed (and so acknowledged as durable) every `stream_age`, as GrpcMetricsSink does, then
// UpdateRunState(SUCCEEDED). A failed stream is counted as an error and its batches re-sent on
// a new one (points are idempotent), so every step it reports as acknowledged was acknowledged.
#ifndef JEPALAB_BENCH_LOAD_METRIC_STREAM_H_
#define JEPALAB_BENCH_LOAD_METRIC_STREAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "bench/load/latency_recorder.h"
#include "bench/load/synthetic_run.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab::load {

struct MetricStreamOptions {
  std::string address;           // metrics_service host:port
  double steps_per_second = 10;  // per run; <= 0: as fast as acknowledgements allow
  absl::Duration stream_age = absl::Seconds(2);
  absl::Duration rpc_timeout = absl::Seconds(30);
  int max_attempts = 5;  // per stream of batches, before giving up on it
};

struct MetricStreamResult {
  int64_t acked_steps = 0;   // steps [0, acked_steps) acknowledged
  int64_t acked_points = 0;  // their points
};

class MetricStream {
 public:
  MetricStream(const MetricStreamOptions& options, const SyntheticRun* run,
               LatencyRecorder* recorder);

  // RegisterRun (retried up to max_attempts); false if it never succeeded.
  bool Register();
  // After Register: streams until `stop` is set, then closes its last stream and marks the run
  // SUCCEEDED. Thread-compatible: call once, from one thread.
  MetricStreamResult Run(const std::atomic<bool>& stop);

 private:
  struct Outcome {
    int64_t end;  // steps [first, end) were written
    bool ok;      // and acknowledged
  };

  bool RegisterOnce();
  // Writes steps from `first` (below `limit`) on one stream and finishes it. Paced: at the
  // configured rate from `start`, until stream_age has passed or `stop` is set.
  Outcome WriteStream(int64_t first, int64_t limit, bool paced, const std::atomic<bool>& stop,
                      absl::Time start);
  void MarkSucceeded();

  MetricStreamOptions options_;
  const SyntheticRun* run_;
  LatencyRecorder* recorder_;
  std::unique_ptr<metrics::v1::MetricsService::Stub> stub_;
};

}  // namespace jepalab::load

#endif  // JEPALAB_BENCH_LOAD_METRIC_STREAM_H_
