// The scheduler's view of metrics_service: a run's metric history and its collapse detectors,
// read to judge finished plan runs, and the live collapse events that stop runs early. The gRPC
// implementation lives in scheduler_service/server/; unit tests use FakeMetricsClient.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_METRICS_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_METRICS_CLIENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/metrics.pb.h"
#include "scheduler_service/core/cancel_token.h"

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

// "<indicator>" or "<indicator>/<encoder>", as CollapseSummary.indicator names a detector.
std::string DetectorName(const std::string& indicator, const std::string& encoder);

// Implementations are thread-safe; calls may block for an RPC round trip.
class MetricsClient {
 public:
  using CollapseEventCallback = std::function<void(const ::jepalab::metrics::v1::CollapseEvent&)>;

  virtual ~MetricsClient() = default;

  // Every point of the named series (empty: all series) of `run_id`. NotFound: the run was
  // never registered. Unavailable/DeadlineExceeded: metrics_service is down (retry later).
  virtual absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> GetRunHistory(
      const std::string& run_id, const std::vector<std::string>& names) = 0;

  // The run's earliest collapse. Same errors as GetRunHistory.
  virtual absl::StatusOr<CollapseSummary> GetCollapseStatus(const std::string& run_id) = 0;

  // Blocks, calling `on_event` (on the calling thread) first with one event per detector of the
  // runs in `run_ids` (empty: every run) that is not OK now, then with every state change as it
  // happens; an event may be delivered again after a reconnect. Returns Cancelled once `cancel`
  // fired (`on_event` may fire it), OK if the server ended the stream, and the RPC error
  // (Unavailable, ...) if the stream could not start or broke.
  virtual absl::Status WatchCollapseEvents(const std::vector<std::string>& run_ids,
                                           const CollapseEventCallback& on_event,
                                           CancelToken* cancel) = 0;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_METRICS_CLIENT_H_
