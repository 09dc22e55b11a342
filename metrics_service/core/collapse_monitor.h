// The collapse detectors of every run, fed on ingest, and the subscriptions behind the
// WatchCollapseEvents stream.
#ifndef JEPALAB_METRICS_SERVICE_CORE_COLLAPSE_MONITOR_H_
#define JEPALAB_METRICS_SERVICE_CORE_COLLAPSE_MONITOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "metrics_service/core/collapse_detectors.h"
#include "metrics_service/core/run_store.h"
#include "proto/config/metrics_service_config.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {

// Per-run RunCollapseDetectors plus event subscribers. Thread-safe. Subscriber callbacks run
// on the ingesting thread while the monitor's lock is held, in event order: they must be quick
// and must not call back into the monitor (queue the event and return).
class CollapseMonitor {
 public:
  using Callback = std::function<void(const v1::CollapseEvent&)>;

  // `config` must be valid (ValidateCollapseDetectorsConfig).
  explicit CollapseMonitor(const config::v1::CollapseDetectorsConfig& config);

  CollapseMonitor(const CollapseMonitor&) = delete;
  CollapseMonitor& operator=(const CollapseMonitor&) = delete;

  const config::v1::CollapseDetectorsConfig& config() const { return config_; }

  // Records the run's experiment (carried by its events) and reacts to RUN_STATE_DIVERGED.
  // Returns the events (also published).
  std::vector<v1::CollapseEvent> ObserveRun(const v1::RunInfo& run, int64_t now_ms);

  // Feeds a validated, stored batch, each run's points in (step, name) order. A point with
  // unix_ms 0 takes `now_ms`. Returns the events (also published).
  std::vector<v1::CollapseEvent> ObservePoints(const MetricPoints& points, int64_t now_ms);

  // Rebuilds a run's detectors from its stored history (restart): the series are merged in
  // (step, name) order. Events are neither returned nor published. Replaces existing state.
  void Replay(const v1::RunInfo& run, const std::vector<v1::Series>& history);

  // The run's detector statuses (empty if it has none).
  std::vector<v1::DetectorStatus> Statuses(absl::string_view run_id) const;

  // Validates the filter (run_ids[i] and experiment as ids; InvalidArgument naming the
  // field), then registers `callback` for the events it matches. With include_current, first
  // calls it (synchronously, before returning) once per matching detector that is not OK.
  absl::StatusOr<int64_t> Subscribe(const v1::WatchCollapseEventsRequest& filter,
                                    Callback callback);
  // After it returns, the callback is never called again. Unknown ids are ignored.
  void Unsubscribe(int64_t id);
  int NumSubscribers() const;

 private:
  struct RunState {
    std::string experiment;
    std::unique_ptr<RunCollapseDetectors> detectors;
  };
  struct Subscriber {
    absl::flat_hash_set<std::string> run_ids;  // empty: all
    std::string experiment;                    // empty: all
    Callback callback;
  };

  RunState& RunFor(const std::string& run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(std::vector<v1::CollapseEvent>& events, const RunState& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static bool Matches(const Subscriber& subscriber, const v1::CollapseEvent& event);

  const config::v1::CollapseDetectorsConfig config_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, RunState> runs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
  int64_t next_subscriber_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_CORE_COLLAPSE_MONITOR_H_
