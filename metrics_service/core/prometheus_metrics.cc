#include "metrics_service/core/prometheus_metrics.h"

#include <type_traits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/metric_names.h"
#include "proto/common_states.h"

namespace jepalab::metrics {
namespace {

namespace names = ::jepalab::metric_names;
using ::prometheus::Counter;
using ::prometheus::Family;
using ::prometheus::Gauge;
using ::prometheus::Histogram;

constexpr char kKeySeparator = '\x1f';
constexpr char kRunInfoKey[] = "jepalab_run_info";

Family<Gauge>& BuildGaugeFamily(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

Family<Counter>& BuildCounterFamily(prometheus::Registry& registry, const std::string& name,
                                    const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

// Training steps take milliseconds (tiny CPU models) to tens of seconds (large batches).
const Histogram::BucketBoundaries& StepDurationBuckets() {
  static const auto* const kBuckets = new Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *kBuckets;
}

// "RUNNING" for RUN_STATE_RUNNING: the label value dashboards show.
std::string StateLabel(common::v1::RunState state) {
  std::string name = common::v1::RunState_Name(state);
  constexpr absl::string_view kPrefix = "RUN_STATE_";
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  return name;
}

bool IsDiagnosticsStat(absl::string_view stat) {
  return stat == names::kStatEffectiveRank || stat == names::kStatIsotropy ||
         stat == names::kStatRankMe || stat == names::kStatIsotropyRobust ||
         stat == names::kStatVariance || stat == names::kStatGaussianScore;
}

}  // namespace

PrometheusMetrics::PrometheusMetrics(prometheus::Registry& registry,
                                     const PrometheusMetricsOptions& options)
    : options_(options),
      loss_(BuildGaugeFamily(registry, "jepalab_train_loss",
                             "Latest value of each training loss component.")),
      temperature_(
          BuildGaugeFamily(registry, "jepalab_train_temperature", "Latest InfoNCE temperature.")),
      learning_rate_(BuildGaugeFamily(registry, "jepalab_train_learning_rate",
                                      "Latest optimizer learning rate.")),
      grad_norm_(BuildGaugeFamily(registry, "jepalab_train_grad_norm",
                                  "Latest gradient norm before clipping.")),
      step_(BuildGaugeFamily(registry, "jepalab_train_step", "Newest optimizer step reported.")),
      epoch_(BuildGaugeFamily(registry, "jepalab_train_epoch", "Current epoch (1-based).")),
      validation_loss_(
          BuildGaugeFamily(registry, "jepalab_train_validation_loss", "Latest validation loss.")),
      queue_fill_ratio_(BuildGaugeFamily(registry, "jepalab_train_queue_fill_ratio",
                                         "Fill ratio of the negatives queue, 0 to 1.")),
      effective_rank_(BuildGaugeFamily(registry, "jepalab_embedding_effective_rank",
                                       "Effective rank of the embeddings (collapse detector).")),
      isotropy_(
          BuildGaugeFamily(registry, "jepalab_embedding_isotropy",
                           "Isotropy of the embeddings, reference definition (dominated by its "
                           "1e-6 jitter; kept for comparison).")),
      rankme_(BuildGaugeFamily(registry, "jepalab_embedding_rankme",
                               "RankMe effective rank (exp of the singular-value entropy); the "
                               "rank collapse detector reads it.")),
      isotropy_robust_(BuildGaugeFamily(registry, "jepalab_embedding_isotropy_robust",
                                        "Isotropy not dominated by the jitter; the isotropy "
                                        "collapse detector reads it.")),
      variance_(BuildGaugeFamily(registry, "jepalab_embedding_variance",
                                 "Mean per-dimension variance of the embeddings.")),
      gaussian_score_(BuildGaugeFamily(registry, "jepalab_embedding_gaussian_score",
                                       "Closeness of the embeddings to an isotropic Gaussian.")),
      vq_usage_ratio_(BuildGaugeFamily(
          registry, "jepalab_vq_codebook_usage_ratio",
          "Fraction of the online VQ's codes assigned >= 1 row in the last diagnostics window.")),
      vq_active_codes_(
          BuildGaugeFamily(registry, "jepalab_vq_active_codes",
                           "Online VQ codes assigned >= 1 row in the last diagnostics window.")),
      vq_perplexity_(BuildGaugeFamily(
          registry, "jepalab_vq_perplexity",
          "Perplexity of the online VQ's assignments over the last diagnostics window.")),
      vq_dead_codes_(
          BuildGaugeFamily(registry, "jepalab_vq_dead_codes",
                           "Online VQ codes assigned no row in the last diagnostics window.")),
      vq_target_usage_ratio_(BuildGaugeFamily(
          registry, "jepalab_vq_target_codebook_usage_ratio",
          "Fraction of the target encoder VQ's codes assigned >= 1 row in the last diagnostics "
          "window.")),
      vq_target_active_codes_(BuildGaugeFamily(
          registry, "jepalab_vq_target_active_codes",
          "Target encoder VQ codes assigned >= 1 row in the last diagnostics window.")),
      vq_target_perplexity_(BuildGaugeFamily(
          registry, "jepalab_vq_target_perplexity",
          "Perplexity of the target encoder VQ's assignments over the last diagnostics window.")),
      vq_target_dead_codes_(BuildGaugeFamily(
          registry, "jepalab_vq_target_dead_codes",
          "Target encoder VQ codes assigned no row in the last diagnostics window.")),
      steps_total_(BuildCounterFamily(registry, "jepalab_train_steps_total",
                                      "Optimizer steps seen by metrics_service.")),
      vq_refreshes_total_(BuildCounterFamily(registry, "jepalab_vq_refreshes_total",
                                             "VQ dead-code refresh passes.")),
      vq_codes_reinitialized_total_(BuildCounterFamily(
          registry, "jepalab_vq_codes_reinitialized_total", "VQ codes re-initialized.")),
      vq_codes_reinitialized_in_use_total_(BuildCounterFamily(
          registry, "jepalab_vq_codes_reinitialized_in_use_total",
          "VQ codes re-initialized although they were assigned rows in the previous window "
          "(live codes thrown away by a refresh).")),
      vq_target_refreshes_total_(BuildCounterFamily(registry, "jepalab_vq_target_refreshes_total",
                                                    "Target encoder VQ dead-code refresh passes.")),
      vq_target_codes_reinitialized_total_(
          BuildCounterFamily(registry, "jepalab_vq_target_codes_reinitialized_total",
                             "Target encoder VQ codes re-initialized.")),
      vq_target_codes_reinitialized_in_use_total_(BuildCounterFamily(
          registry, "jepalab_vq_target_codes_reinitialized_in_use_total",
          "Target encoder VQ codes re-initialized although they were assigned rows in the "
          "previous window.")),
      step_duration_(prometheus::BuildHistogram()
                         .Name("jepalab_train_step_duration_seconds")
                         .Help("Wall time of one optimizer step.")
                         .Register(registry)),
      run_info_(BuildGaugeFamily(registry, "jepalab_run_info",
                                 "Always 1; labels carry the run's config hash and state.")),
      run_state_(BuildGaugeFamily(registry, "jepalab_run_state",
                                  "Run state as the jepalab.common.v1.RunState number.")),
      collapse_state_(BuildGaugeFamily(registry, "jepalab_collapse_state",
                                       "Collapse detector state: 1 ok, 2 warning, 3 collapsed "
                                       "(jepalab.metrics.v1.CollapseState).")),
      collapse_events_total_(BuildCounterFamily(
          registry, "jepalab_collapse_events_total",
          "Collapse detector changes into warning or collapsed, by indicator and severity.")),
      points_ingested_total_(BuildCounterFamily(registry, "jepalab_metrics_points_ingested_total",
                                                "Metric points written to the store.")
                                 .Add({})),
      batches_ingested_total_(BuildCounterFamily(registry, "jepalab_metrics_batches_ingested_total",
                                                 "ReportMetrics batches written to the store.")
                                  .Add({})) {}

PrometheusMetrics::RunSeries& PrometheusMetrics::SeriesFor(const std::string& run_id) {
  return runs_[run_id];
}

Gauge& PrometheusMetrics::GaugeFor(const std::string& run_id, RunSeries& series,
                                   Family<Gauge>& family, absl::string_view label,
                                   absl::string_view value) {
  std::string key = absl::StrCat(family.GetName(), std::string(1, kKeySeparator), value);
  auto it = series.gauges.find(key);
  if (it != series.gauges.end()) return *it->second.metric;
  std::map<std::string, std::string> labels = {{"run", run_id}, {"experiment", series.experiment}};
  if (!label.empty()) labels.emplace(std::string(label), std::string(value));
  Gauge& gauge = family.Add(labels);
  series.gauges.emplace(std::move(key), Tracked<Gauge>{&family, &gauge});
  return gauge;
}

Counter& PrometheusMetrics::CounterFor(const std::string& run_id, RunSeries& series,
                                       Family<Counter>& family) {
  auto it = series.counters.find(family.GetName());
  if (it != series.counters.end()) return *it->second.metric;
  Counter& counter = family.Add({{"run", run_id}, {"experiment", series.experiment}});
  series.counters.emplace(family.GetName(), Tracked<Counter>{&family, &counter});
  return counter;
}

Histogram& PrometheusMetrics::HistogramFor(const std::string& run_id, RunSeries& series,
                                           Family<Histogram>& family) {
  auto it = series.histograms.find(family.GetName());
  if (it != series.histograms.end()) return *it->second.metric;
  Histogram& histogram =
      family.Add({{"run", run_id}, {"experiment", series.experiment}}, StepDurationBuckets());
  series.histograms.emplace(family.GetName(), Tracked<Histogram>{&family, &histogram});
  return histogram;
}

template <typename T>
T& PrometheusMetrics::MetricWithLabels(const std::string& run_id, RunSeries& series,
                                       Family<T>& family,
                                       const std::map<std::string, std::string>& extra) {
  std::string key = family.GetName();
  for (const auto& label : extra)
    absl::StrAppend(&key, std::string(1, kKeySeparator), label.second);
  auto& tracked = [&]() -> auto& {
    if constexpr (std::is_same_v<T, Gauge>) {
      return series.gauges;
    } else {
      return series.counters;
    }
  }
  ();
  auto it = tracked.find(key);
  if (it != tracked.end()) return *it->second.metric;
  std::map<std::string, std::string> labels = {{"run", run_id}, {"experiment", series.experiment}};
  labels.insert(extra.begin(), extra.end());
  T& metric = family.Add(labels);
  tracked.emplace(std::move(key), Tracked<T>{&family, &metric});
  return metric;
}

void PrometheusMetrics::SetCollapseState(const std::string& run_id, const std::string& indicator,
                                         const std::string& encoder, v1::CollapseState state) {
  if (expired_.contains(run_id)) return;
  RunSeries& series = SeriesFor(run_id);
  std::map<std::string, std::string> labels = {{"indicator", indicator}};
  if (!encoder.empty()) labels.emplace("encoder", encoder);
  MetricWithLabels(run_id, series, collapse_state_, labels).Set(static_cast<double>(state));
}

void PrometheusMetrics::ObserveCollapseEvents(const std::vector<v1::CollapseEvent>& events) {
  absl::MutexLock lock(&mu_);
  for (const v1::CollapseEvent& event : events) {
    SetCollapseState(event.run_id(), event.indicator(), event.encoder(), event.state());
    if (expired_.contains(event.run_id())) continue;
    const char* severity = event.state() == v1::COLLAPSE_STATE_COLLAPSED ? "collapsed"
                           : event.state() == v1::COLLAPSE_STATE_WARNING ? "warning"
                                                                         : nullptr;
    if (severity == nullptr) continue;
    MetricWithLabels(event.run_id(), SeriesFor(event.run_id()), collapse_events_total_,
                     {{"indicator", event.indicator()}, {"severity", severity}})
        .Increment();
  }
}

void PrometheusMetrics::ObserveDetectorStatuses(const std::string& run_id,
                                                const std::vector<v1::DetectorStatus>& statuses) {
  absl::MutexLock lock(&mu_);
  for (const v1::DetectorStatus& status : statuses) {
    if (status.state() == v1::COLLAPSE_STATE_UNSPECIFIED) continue;
    SetCollapseState(run_id, status.indicator(), status.encoder(), status.state());
  }
}

void PrometheusMetrics::RemoveAll(RunSeries& series) {
  for (auto& [key, tracked] : series.gauges) tracked.family->Remove(tracked.metric);
  for (auto& [key, tracked] : series.counters) tracked.family->Remove(tracked.metric);
  for (auto& [key, tracked] : series.histograms) tracked.family->Remove(tracked.metric);
  series.gauges.clear();
  series.counters.clear();
  series.histograms.clear();
}

void PrometheusMetrics::ObserveRun(const v1::RunInfo& run, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  const bool terminal = common::IsTerminal(run.state());
  if (expired_.contains(run.run_id())) {
    if (terminal) return;  // still finished: stays removed
    expired_.erase(run.run_id());
  }
  RunSeries& series = SeriesFor(run.run_id());
  if (series.experiment != run.experiment()) {
    // The experiment label is part of every series' identity: re-create them under the new one.
    // Counters restart from zero, which Prometheus' rate() treats as a reset.
    RemoveAll(series);
    series.experiment = run.experiment();
  }
  auto info = series.gauges.find(kRunInfoKey);
  if (info != series.gauges.end()) {
    info->second.family->Remove(info->second.metric);
    series.gauges.erase(info);
  }
  Gauge& info_gauge = run_info_.Add({{"run", run.run_id()},
                                     {"experiment", series.experiment},
                                     {"config_hash", run.config_hash()},
                                     {"state", StateLabel(run.state())}});
  info_gauge.Set(1);
  series.gauges.emplace(kRunInfoKey, Tracked<Gauge>{&run_info_, &info_gauge});
  GaugeFor(run.run_id(), series, run_state_).Set(static_cast<double>(run.state()));

  if (!terminal) {
    series.finished_ms.reset();
  } else if (!series.finished_ms.has_value()) {
    series.finished_ms = now_ms;
  }
}

bool PrometheusMetrics::KnowsRun(absl::string_view run_id) const {
  absl::MutexLock lock(&mu_);
  return runs_.contains(run_id) || expired_.contains(run_id);
}

void PrometheusMetrics::ObservePoints(const MetricPoints& points) {
  batches_ingested_total_.Increment();
  points_ingested_total_.Increment(static_cast<double>(points.size()));
  absl::MutexLock lock(&mu_);
  for (const v1::MetricPoint& point : points) {
    if (expired_.contains(point.run_id())) continue;
    ApplyPoint(point, SeriesFor(point.run_id()));
  }
}

void PrometheusMetrics::ApplyPoint(const v1::MetricPoint& point, RunSeries& series) {
  const std::string& run_id = point.run_id();
  const std::string& name = point.name();
  const int64_t step = point.step();

  if (step > series.max_step) {
    // One increment per step seen for the first time; points of one step arrive together.
    CounterFor(run_id, series, steps_total_).Increment();
    series.max_step = step;
    GaugeFor(run_id, series, step_).Set(static_cast<double>(step));
  }
  if (step == series.max_step && point.epoch() > 0) {
    GaugeFor(run_id, series, epoch_).Set(point.epoch());
  }

  auto applied = series.applied_step.find(name);
  const bool seen = applied != series.applied_step.end();
  const bool newer = !seen || step > applied->second;     // counters, histogram
  const bool current = !seen || step >= applied->second;  // gauges: the newest value wins
  if (!current) return;
  series.applied_step[name] = step;
  const double value = point.value();

  auto set = [&](Family<Gauge>& family, absl::string_view label = "",
                 absl::string_view label_value = "") {
    GaugeFor(run_id, series, family, label, label_value).Set(value);
  };
  // Cumulative series become counters: add the increase since the last value seen. A drop
  // (the trainer restarted its count) adds nothing and re-bases.
  auto add_delta = [&](Family<Counter>& family) {
    if (!newer) return;
    auto last = series.last_cumulative.find(name);
    const double delta = last == series.last_cumulative.end() ? value : value - last->second;
    if (delta > 0) CounterFor(run_id, series, family).Increment(delta);
    series.last_cumulative[name] = value;
  };

  if (absl::StartsWith(name, names::kLossPrefix)) {
    const absl::string_view component =
        absl::string_view(name).substr(sizeof(names::kLossPrefix) - 1);
    if (!component.empty()) set(loss_, "component", component);
  } else if (name == names::kTemperature) {
    set(temperature_);
  } else if (name == names::kLearningRate) {
    set(learning_rate_);
  } else if (name == names::kGradNorm) {
    set(grad_norm_);
  } else if (name == names::kValLoss) {
    set(validation_loss_);
  } else if (name == names::kQueueFill) {
    set(queue_fill_ratio_);
  } else if (name == names::kEpoch) {
    set(epoch_);
  } else if (name == names::kStepTimeSeconds) {
    if (newer) HistogramFor(run_id, series, step_duration_).Observe(value);
  } else if (name == names::kVqUsageRatio) {
    set(vq_usage_ratio_);
  } else if (name == names::kVqActiveCodes) {
    set(vq_active_codes_);
  } else if (name == names::kVqPerplexity) {
    set(vq_perplexity_);
  } else if (name == names::kVqDeadCodes) {
    set(vq_dead_codes_);
  } else if (name == names::kVqRefreshes) {
    add_delta(vq_refreshes_total_);
  } else if (name == names::kVqCodesReinitialized) {
    add_delta(vq_codes_reinitialized_total_);
  } else if (name == names::kVqReinitializedInUse) {
    add_delta(vq_codes_reinitialized_in_use_total_);
  } else if (name == names::kVqTargetUsageRatio) {
    set(vq_target_usage_ratio_);
  } else if (name == names::kVqTargetActiveCodes) {
    set(vq_target_active_codes_);
  } else if (name == names::kVqTargetPerplexity) {
    set(vq_target_perplexity_);
  } else if (name == names::kVqTargetDeadCodes) {
    set(vq_target_dead_codes_);
  } else if (name == names::kVqTargetRefreshes) {
    add_delta(vq_target_refreshes_total_);
  } else if (name == names::kVqTargetCodesReinitialized) {
    add_delta(vq_target_codes_reinitialized_total_);
  } else if (name == names::kVqTargetReinitializedInUse) {
    add_delta(vq_target_codes_reinitialized_in_use_total_);
  } else if (absl::StartsWith(name, names::kDiagnosticsPrefix)) {
    // "diagnostics/<encoder>/<stat>"; anything else under diagnostics/ stays history-only.
    std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
    if (parts.size() != 3 || parts[1].empty() || parts[1] == names::kVqOnline ||
        parts[1] == names::kVqTarget) {
      return;
    }
    const absl::string_view encoder = parts[1];
    const absl::string_view stat = parts[2];
    if (!IsDiagnosticsStat(stat)) return;
    Family<Gauge>& family = stat == names::kStatEffectiveRank    ? effective_rank_
                            : stat == names::kStatIsotropy       ? isotropy_
                            : stat == names::kStatRankMe         ? rankme_
                            : stat == names::kStatIsotropyRobust ? isotropy_robust_
                            : stat == names::kStatVariance       ? variance_
                                                                 : gaussian_score_;
    set(family, "encoder", encoder);
  }
  // Other names (train/loss, custom series) are stored in history but not exported.
}

int PrometheusMetrics::ExpireFinishedRuns(int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> expired;
  for (auto& [run_id, series] : runs_) {
    if (series.finished_ms.has_value() &&
        now_ms - *series.finished_ms >= options_.finished_run_retention_ms) {
      RemoveAll(series);
      expired.push_back(run_id);
    }
  }
  for (const std::string& run_id : expired) {
    runs_.erase(run_id);
    expired_.insert(run_id);
  }
  return static_cast<int>(expired.size());
}

}  // namespace jepalab::metrics
