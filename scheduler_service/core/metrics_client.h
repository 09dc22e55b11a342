// The scheduler's view of metrics_service: a run's metric history and its collapse detectors,
// read to judge finished plan runs. The gRPC implementation lives in scheduler_service/server/;
// unit tests use FakeMetricsClient.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_METRICS_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_METRICS_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/metrics.pb.h"

namespace jepalab::scheduler {

// The earliest collapse of a run: the first step any detector reached COLLAPSED.
struct CollapseSummary {
  int64_t first_collapse_step = -1;  // -1: no detector collapsed
  std::string indicator;             // "embedding_rank/context", "codebook_usage", ...
};

// Reduces a run's detectors (GetCollapseStatusResponse.detectors) to its earliest collapse;
// ties go to the first detector in the list.
CollapseSummary SummarizeCollapse(
    const std::vector<::jepalab::metrics::v1::DetectorStatus>& detectors);

// Implementations are thread-safe; calls may block for an RPC round trip.
class MetricsClient {
 public:
  virtual ~MetricsClient() = default;

  // Every point of the named series (empty: all series) of `run_id`. NotFound: the run was
  // never registered. Unavailable/DeadlineExceeded: metrics_service is down (retry later).
  virtual absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> GetRunHistory(
      const std::string& run_id, const std::vector<std::string>& names) = 0;

  // The run's earliest collapse. Same errors as GetRunHistory.
  virtual absl::StatusOr<CollapseSummary> GetCollapseStatus(const std::string& run_id) = 0;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_METRICS_CLIENT_H_
