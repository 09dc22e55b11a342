// Where a training run reports its metric points (torch-free). The gRPC implementation is
// trainer_service/server/grpc_metrics_sink.h; the worker also forwards points to its parent.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_METRICS_SINK_H_
#define JEPALAB_TRAINER_SERVICE_CORE_METRICS_SINK_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace jepalab::trainer {

using MetricValues = std::vector<std::pair<std::string, double>>;

// Implementations must be thread-safe and must not block the caller for long (buffer and send
// in the background); a sink never fails the run.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // Points of one optimizer step (or one epoch summary). Names: common/metric_names.h.
  virtual void Report(int64_t step, int32_t epoch, const MetricValues& values) = 0;
  // Best effort: waits a bounded time until the reported points were delivered.
  virtual void Flush() = 0;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_METRICS_SINK_H_
