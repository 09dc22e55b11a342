// The metrics_service logic behind the RPCs: validation and ingestion of metric batches, run
// metadata, history and comparison queries, and keeping the Prometheus series in step.
#ifndef JEPALAB_METRICS_SERVICE_CORE_METRICS_CORE_H_
#define JEPALAB_METRICS_SERVICE_CORE_METRICS_CORE_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
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

// Ingestion and queries over a RunStore, exporting to PrometheusMetrics. Does not own its
// arguments; they must outlive it. Thread-safe.
//
// Errors: InvalidArgument for a bad request field (named in the message), NotFound for an
// unknown run, and the store's Unavailable/ResourceExhausted/Internal for storage failures.
class MetricsCore {
 public:
  MetricsCore(RunStore* store, PrometheusMetrics* metrics, const common::Clock* clock);

  MetricsCore(const MetricsCore&) = delete;
  MetricsCore& operator=(const MetricsCore&) = delete;

  // After a restart: exports run info/state for the stored runs, so that live runs reappear on
  // /metrics before their next point. Runs that finished longer than the retention ago are not.
  absl::Status RestoreRuns();

  // Validates the whole batch, then writes it in one transaction (nothing is written if any
  // point is bad). A run_id never registered gets a minimal run record. Returns the number of
  // points written (re-sent points replace stored ones and count again).
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

  // Per run (in request order) the summary of each requested metric it has; with no names, of
  // the metrics every listed run has. InvalidArgument without run_ids; NotFound for an unknown
  // run.
  absl::StatusOr<v1::CompareRunsResponse> CompareRuns(const v1::CompareRunsRequest& request);

  // Drops the Prometheus series of runs finished longer than the retention ago (history stays).
  // Returns how many runs were dropped.
  int ExpireFinishedRuns();

 private:
  RunStore* const store_;
  PrometheusMetrics* const metrics_;
  const common::Clock* const clock_;
  // Serialises read-merge-write of run metadata (RegisterRun, UpdateRunState).
  absl::Mutex run_mu_;
};

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_CORE_METRICS_CORE_H_
