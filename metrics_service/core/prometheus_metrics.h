// Every Prometheus family metrics_service exports, built on an injected Registry: live training
// gauges per run, counters, the step-time histogram, run info/state, and removal of finished runs.
#ifndef JEPALAB_METRICS_SERVICE_CORE_PROMETHEUS_METRICS_H_
#define JEPALAB_METRICS_SERVICE_CORE_PROMETHEUS_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"
#include "metrics_service/core/run_store.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/common.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {

struct PrometheusMetricsOptions {
  // How long the series of a run stay exported after it reached a terminal state, so that
  // scrapes, dashboards and alerts still see its final values. History is kept regardless.
  int64_t finished_run_retention_ms = 300 * 1000;
};

// Translates stored runs and points into Prometheus series on `registry` (not owned; it must
// outlive this object). Only known metric names are exported, so label values stay bounded;
// every other name lives in history only. Per-run series carry {run, experiment}.
// Thread-safe.
//
// Gauges follow the newest step seen per series (a re-sent older point never overwrites a newer
// value); counters and the histogram only count a step newer than the last one counted for
// that series, so retried batches never double count.
class PrometheusMetrics {
 public:
  PrometheusMetrics(prometheus::Registry& registry, const PrometheusMetricsOptions& options);

  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  // Records the run's metadata (jepalab_run_info, jepalab_run_state, the experiment label).
  // A terminal state starts the retention clock at `now_ms`; a non-terminal one stops it. A run
  // whose series already expired is exported again only when it re-enters a non-terminal state.
  void ObserveRun(const v1::RunInfo& run, int64_t now_ms);

  // False if neither ObserveRun nor ObservePoints has seen `run_id` (callers then ObserveRun it
  // first so that its series get the experiment label).
  bool KnowsRun(absl::string_view run_id) const;

  // Updates the series from one validated batch that the store has accepted.
  void ObservePoints(const MetricPoints& points);

  // Collapse-detector state changes: sets jepalab_collapse_state{indicator,encoder} and counts
  // each change into WARNING or COLLAPSED in jepalab_collapse_events_total{indicator,severity}.
  void ObserveCollapseEvents(const std::vector<v1::CollapseEvent>& events);

  // Sets jepalab_collapse_state from a run's detector statuses (after a restart).
  void ObserveDetectorStatuses(const std::string& run_id,
                               const std::vector<v1::DetectorStatus>& statuses);

  // Removes every series of runs that finished at least the retention ago. Returns how many
  // runs were removed. Call periodically.
  int ExpireFinishedRuns(int64_t now_ms);

 private:
  template <typename T>
  struct Tracked {
    prometheus::Family<T>* family;
    T* metric;
  };

  // What is exported for one run, so that all of it can be removed at once.
  struct RunSeries {
    std::string experiment;
    absl::optional<int64_t> finished_ms;  // set while the run is in a terminal state
    int64_t max_step = -1;
    // Per source metric name: the newest step applied, and the last cumulative value seen.
    absl::flat_hash_map<std::string, int64_t> applied_step;
    absl::flat_hash_map<std::string, double> last_cumulative;
    // Keyed by family name + '\x1f' + the extra label's value.
    absl::flat_hash_map<std::string, Tracked<prometheus::Gauge>> gauges;
    absl::flat_hash_map<std::string, Tracked<prometheus::Counter>> counters;
    absl::flat_hash_map<std::string, Tracked<prometheus::Histogram>> histograms;
  };

  RunSeries& SeriesFor(const std::string& run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  prometheus::Gauge& GaugeFor(const std::string& run_id, RunSeries& series,
                              prometheus::Family<prometheus::Gauge>& family,
                              absl::string_view label = "", absl::string_view value = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  prometheus::Counter& CounterFor(const std::string& run_id, RunSeries& series,
                                  prometheus::Family<prometheus::Counter>& family)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A gauge or counter with extra labels besides {run, experiment}.
  template <typename T>
  T& MetricWithLabels(const std::string& run_id, RunSeries& series, prometheus::Family<T>& family,
                      const std::map<std::string, std::string>& extra)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetCollapseState(const std::string& run_id, const std::string& indicator,
                        const std::string& encoder, v1::CollapseState state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  prometheus::Histogram& HistogramFor(const std::string& run_id, RunSeries& series,
                                      prometheus::Family<prometheus::Histogram>& family)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyPoint(const v1::MetricPoint& point, RunSeries& series)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RemoveAll(RunSeries& series);

  const PrometheusMetricsOptions options_;

  // Families (owned by the registry).
  prometheus::Family<prometheus::Gauge>& loss_;
  prometheus::Family<prometheus::Gauge>& temperature_;
  prometheus::Family<prometheus::Gauge>& learning_rate_;
  prometheus::Family<prometheus::Gauge>& grad_norm_;
  prometheus::Family<prometheus::Gauge>& step_;
  prometheus::Family<prometheus::Gauge>& epoch_;
  prometheus::Family<prometheus::Gauge>& validation_loss_;
  prometheus::Family<prometheus::Gauge>& queue_fill_ratio_;
  prometheus::Family<prometheus::Gauge>& effective_rank_;
  prometheus::Family<prometheus::Gauge>& isotropy_;
  prometheus::Family<prometheus::Gauge>& rankme_;
  prometheus::Family<prometheus::Gauge>& isotropy_robust_;
  prometheus::Family<prometheus::Gauge>& variance_;
  prometheus::Family<prometheus::Gauge>& gaussian_score_;
  prometheus::Family<prometheus::Gauge>& vq_usage_ratio_;
  prometheus::Family<prometheus::Gauge>& vq_active_codes_;
  prometheus::Family<prometheus::Gauge>& vq_perplexity_;
  prometheus::Family<prometheus::Gauge>& vq_dead_codes_;
  // The target encoder's own VQ (diagnostics/vq_target/*, vq_target/*).
  prometheus::Family<prometheus::Gauge>& vq_target_usage_ratio_;
  prometheus::Family<prometheus::Gauge>& vq_target_active_codes_;
  prometheus::Family<prometheus::Gauge>& vq_target_perplexity_;
  prometheus::Family<prometheus::Gauge>& vq_target_dead_codes_;
  prometheus::Family<prometheus::Counter>& steps_total_;
  prometheus::Family<prometheus::Counter>& vq_refreshes_total_;
  prometheus::Family<prometheus::Counter>& vq_codes_reinitialized_total_;
  prometheus::Family<prometheus::Counter>& vq_codes_reinitialized_in_use_total_;
  prometheus::Family<prometheus::Counter>& vq_target_refreshes_total_;
  prometheus::Family<prometheus::Counter>& vq_target_codes_reinitialized_total_;
  prometheus::Family<prometheus::Counter>& vq_target_codes_reinitialized_in_use_total_;
  prometheus::Family<prometheus::Histogram>& step_duration_;
  prometheus::Family<prometheus::Gauge>& run_info_;
  prometheus::Family<prometheus::Gauge>& run_state_;
  prometheus::Family<prometheus::Gauge>& collapse_state_;
  prometheus::Family<prometheus::Counter>& collapse_events_total_;
  prometheus::Counter& points_ingested_total_;
  prometheus::Counter& batches_ingested_total_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, RunSeries> runs_ ABSL_GUARDED_BY(mu_);
  // Runs whose series were removed after retention: late points must not resurrect them.
  absl::flat_hash_set<std::string> expired_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_CORE_PROMETHEUS_METRICS_H_
