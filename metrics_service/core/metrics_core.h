// The metrics_service logic behind the RPCs: validation and ingestion of metric batches, run
// metadata, history and comparison queries, and keeping the Prometheus series in step.
#ifndef JEPALAB_METRICS_SERVICE_CORE_METRICS_CORE_H_
#define JEPALAB_METRICS_SERVICE_CORE_METRICS_CORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "metrics_service/core/collapse_monitor.h"
#include "metrics_service/core/prometheus_metrics.h"
#include "metrics_service/core/run_store.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {

// Longest metric name; names are [A-Za-z0-9_./-]+.
inline constexpr int kMaxMetricNameLength = 128;

// OK iff `name` is a valid metric name; else InvalidArgument naming `field`.
absl::Status ValidateMetricName(absl::string_view field, absl::string_view name);

// Checks every point of a batch: points[i].run_id (common::ValidateId), .name, .step >= 0,
// .epoch >= 0, .value finite, .unix_ms >= 0. The first bad field gives InvalidArgument naming
// it, e.g. "points[3].value: must be finite, got nan". Point labels are accepted and ignored.
absl::Status ValidateMetricPoints(const MetricPoints& points);

// Which way a metric improves: "lower" (losses, dead codes, step time), "higher" (rank,
// isotropy, codebook usage, active codes, perplexity) or "" (unknown, e.g. lr).
std::string MetricDirection(absl::string_view name);

// Ingestion and queries over a RunStore, exporting to PrometheusMetrics and evaluating the
// collapse detectors of a CollapseMonitor on every stored batch. Does not own its arguments;
// they must outlive it (without a monitor, it owns one with the default thresholds).
// Thread-safe.
//
// Errors: InvalidArgument for a bad request field (named in the message), NotFound for an
// unknown run, and the store's Unavailable/ResourceExhausted/Internal for storage failures.
class MetricsCore {
 public:
  MetricsCore(RunStore* store, PrometheusMetrics* metrics, const common::Clock* clock,
              CollapseMonitor* monitor = nullptr);

  MetricsCore(const MetricsCore&) = delete;
  MetricsCore& operator=(const MetricsCore&) = delete;

  // After a restart: exports run info/state for the stored runs, so that live runs reappear on
  // /metrics before their next point. Runs that finished longer than the retention ago are not.
  absl::Status RestoreRuns();

  // Validates the whole batch, then writes it in one transaction (nothing is written if any
  // point is bad). A run_id never registered gets a minimal run record. Then evaluates the
  // collapse detectors (their events go to Prometheus and the subscribers). Returns the number
  // of points written (re-sent points replace stored ones and count again).
  absl::StatusOr<int64_t> ReportMetrics(const v1::ReportMetricsRequest& batch);

  // Creates or updates the run's metadata (idempotent). Keeps the creation time of an existing
  // run, and its state and message when `run.state` is unspecified.
  absl::StatusOr<v1::RunInfo> RegisterRun(const v1::RunInfo& run);

  // Sets state and message. NotFound if the run is unknown; InvalidArgument for an unset or
  // unknown state.
  absl::StatusOr<v1::RunInfo> UpdateRunState(const v1::UpdateRunStateRequest& request);

  // NotFound for an unknown run; InvalidArgument for negative steps, max_step < min_step
  // (unless 0), negative max_points or a bad name. With explicit names the series come in the
  // requested order (duplicates dropped), empty where the run has no points.
  absl::StatusOr<v1::GetRunHistoryResponse> GetRunHistory(const v1::GetRunHistoryRequest& request);

  absl::StatusOr<v1::ListRunsResponse> ListRuns(const v1::ListRunsRequest& request);

  // Per run (in request order) the summary of each requested metric it has (best and worst
  // where the direction is known); with no names, of the metrics every listed run has; and its
  // collapse detectors with the first collapse. InvalidArgument without run_ids; NotFound for
  // an unknown run.
  absl::StatusOr<v1::CompareRunsResponse> CompareRuns(const v1::CompareRunsRequest& request);

  // The run's collapse detectors. NotFound for an unknown run, InvalidArgument for a bad id.
  absl::StatusOr<v1::GetCollapseStatusResponse> GetCollapseStatus(
      const v1::GetCollapseStatusRequest& request);

  // Subscribes `callback` to collapse events (see CollapseMonitor::Subscribe, which validates
  // the filter). Returns the id for UnwatchCollapseEvents.
  absl::StatusOr<int64_t> WatchCollapseEvents(
      const v1::WatchCollapseEventsRequest& request,
      std::function<void(const v1::CollapseEvent&)> callback);
  void UnwatchCollapseEvents(int64_t id);

  // Drops the Prometheus series of runs finished longer than the retention ago (history stays).
  // Returns how many runs were dropped.
  int ExpireFinishedRuns();

 private:
  // Fills the detectors and the first collapse of `run_id` into `comparison`.
  void AddCollapseSummary(const std::string& run_id, v1::RunComparison* comparison) const;

  RunStore* const store_;
  PrometheusMetrics* const metrics_;
  const common::Clock* const clock_;
  std::unique_ptr<CollapseMonitor> owned_monitor_;  // when none was given
  CollapseMonitor* const monitor_;
  // Serialises read-merge-write of run metadata (RegisterRun, UpdateRunState).
  absl::Mutex run_mu_;
};

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_CORE_METRICS_CORE_H_
