#include "metrics_service/core/prometheus_metrics.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/optional.h"
#include "common/metric_names.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "proto/common.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {
namespace {

using Labels = std::map<std::string, std::string>;
using ::testing::DoubleEq;
using ::testing::Optional;

constexpr int64_t kRetentionMs = 60'000;

// Reads a fresh Collect() of the registry: what a scrape would see, without HTTP.
class Scrape {
 public:
  explicit Scrape(prometheus::Registry& registry) : families_(registry.Collect()) {}

  // The metric of family `name` whose labels are exactly `labels`.
  absl::optional<prometheus::ClientMetric> Find(const std::string& name,
                                                const Labels& labels) const {
    for (const prometheus::MetricFamily& family : families_) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        Labels have;
        for (const auto& label : metric.label) have[label.name] = label.value;
        if (have == labels) return metric;
      }
    }
    return absl::nullopt;
  }

  absl::optional<double> Gauge(const std::string& name, const Labels& labels) const {
    auto metric = Find(name, labels);
    if (!metric) return absl::nullopt;
    return metric->gauge.value;
  }

  absl::optional<double> Counter(const std::string& name, const Labels& labels) const {
    auto metric = Find(name, labels);
    if (!metric) return absl::nullopt;
    return metric->counter.value;
  }

  // Every exported series as "family{labels}", for checking what exists at all.
  std::set<std::string> AllSeries() const {
    std::set<std::string> all;
    for (const prometheus::MetricFamily& family : families_) {
      for (const prometheus::ClientMetric& metric : family.metric) {
        std::string series = family.name + "{";
        for (const auto& label : metric.label) series += label.name + "=" + label.value + ",";
        all.insert(series + "}");
      }
    }
    return all;
  }

  // Number of series that carry run=`run_id`.
  int SeriesOfRun(const std::string& run_id) const {
    int count = 0;
    for (const prometheus::MetricFamily& family : families_) {
      for (const prometheus::ClientMetric& metric : family.metric) {
        for (const auto& label : metric.label) {
          if (label.name == "run" && label.value == run_id) ++count;
        }
      }
    }
    return count;
  }

 private:
  std::vector<prometheus::MetricFamily> families_;
};

v1::MetricPoint Point(const std::string& run_id, const std::string& name, int64_t step,
                      double value, int32_t epoch = 1) {
  v1::MetricPoint point;
  point.set_run_id(run_id);
  point.set_name(name);
  point.set_step(step);
  point.set_value(value);
  point.set_epoch(epoch);
  return point;
}

MetricPoints Points(std::initializer_list<v1::MetricPoint> points) {
  MetricPoints out;
  for (const v1::MetricPoint& point : points) *out.Add() = point;
  return out;
}

v1::RunInfo MakeRun(const std::string& run_id, const std::string& experiment,
                    common::v1::RunState state) {
  v1::RunInfo run;
  run.set_run_id(run_id);
  run.set_experiment(experiment);
  run.set_config_hash("h1");
  run.set_state(state);
  return run;
}

class PrometheusMetricsTest : public ::testing::Test {
 protected:
  PrometheusMetricsTest() : metrics_(registry_, {/*finished_run_retention_ms=*/kRetentionMs}) {}

  prometheus::Registry registry_;
  PrometheusMetrics metrics_;
  const Labels run_labels_ = {{"run", "exp-s1"}, {"experiment", "exp"}};
};

Labels With(Labels labels, const std::string& name, const std::string& value) {
  labels[name] = value;
  return labels;
}

TEST_F(PrometheusMetricsTest, ExportsTrainingAndDiagnosticsGauges) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(Points({
      Point("exp-s1", metric_names::kLossInfoNce, 7, 2.5, /*epoch=*/3),
      Point("exp-s1", metric_names::kLossSigreg, 7, 0.125, 3),
      Point("exp-s1", metric_names::kTemperature, 7, 0.07, 3),
      Point("exp-s1", metric_names::kLearningRate, 7, 3e-4, 3),
      Point("exp-s1", metric_names::kGradNorm, 7, 1.5, 3),
      Point("exp-s1", metric_names::kValLoss, 7, 2.75, 3),
      Point("exp-s1", metric_names::kQueueFill, 7, 0.5, 3),
      Point("exp-s1", "diagnostics/context/effective_rank", 7, 12.5, 3),
      Point("exp-s1", "diagnostics/target/isotropy", 7, 0.8, 3),
      Point("exp-s1", "diagnostics/context/variance", 7, 0.9, 3),
      Point("exp-s1", "diagnostics/context/gaussian_score", 7, 0.4, 3),
      Point("exp-s1", metric_names::kVqUsageRatio, 7, 0.75, 3),
      Point("exp-s1", metric_names::kVqActiveCodes, 7, 48, 3),
      Point("exp-s1", metric_names::kVqPerplexity, 7, 31.5, 3),
      Point("exp-s1", metric_names::kVqDeadCodes, 7, 16, 3),
      Point("exp-s1", metric_names::kVqTargetUsageRatio, 7, 0.5, 3),
      Point("exp-s1", metric_names::kVqTargetActiveCodes, 7, 32, 3),
      Point("exp-s1", metric_names::kVqTargetPerplexity, 7, 20.25, 3),
      Point("exp-s1", metric_names::kVqTargetDeadCodes, 7, 32, 3),
      Point("exp-s1", "diagnostics/vq_target/window_calls", 7, 100, 3),
  }));
  Scrape scrape(registry_);
  EXPECT_THAT(scrape.Gauge("jepalab_train_loss", With(run_labels_, "component", "info_nce")),
              Optional(DoubleEq(2.5)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_loss", With(run_labels_, "component", "sigreg")),
              Optional(DoubleEq(0.125)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_temperature", run_labels_), Optional(DoubleEq(0.07)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_learning_rate", run_labels_), Optional(DoubleEq(3e-4)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_grad_norm", run_labels_), Optional(DoubleEq(1.5)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_validation_loss", run_labels_), Optional(DoubleEq(2.75)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_queue_fill_ratio", run_labels_), Optional(DoubleEq(0.5)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_step", run_labels_), Optional(DoubleEq(7)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_epoch", run_labels_), Optional(DoubleEq(3)));
  EXPECT_THAT(
      scrape.Gauge("jepalab_embedding_effective_rank", With(run_labels_, "encoder", "context")),
      Optional(DoubleEq(12.5)));
  EXPECT_THAT(scrape.Gauge("jepalab_embedding_isotropy", With(run_labels_, "encoder", "target")),
              Optional(DoubleEq(0.8)));
  EXPECT_THAT(scrape.Gauge("jepalab_embedding_variance", With(run_labels_, "encoder", "context")),
              Optional(DoubleEq(0.9)));
  EXPECT_THAT(
      scrape.Gauge("jepalab_embedding_gaussian_score", With(run_labels_, "encoder", "context")),
      Optional(DoubleEq(0.4)));
  EXPECT_THAT(scrape.Gauge("jepalab_vq_codebook_usage_ratio", run_labels_),
              Optional(DoubleEq(0.75)));
  EXPECT_THAT(scrape.Gauge("jepalab_vq_active_codes", run_labels_), Optional(DoubleEq(48)));
  EXPECT_THAT(scrape.Gauge("jepalab_vq_perplexity", run_labels_), Optional(DoubleEq(31.5)));
  EXPECT_THAT(scrape.Gauge("jepalab_vq_dead_codes", run_labels_), Optional(DoubleEq(16)));
  // The target encoder's VQ has families of its own; the online ones keep their values.
  EXPECT_THAT(scrape.Gauge("jepalab_vq_target_codebook_usage_ratio", run_labels_),
              Optional(DoubleEq(0.5)));
  EXPECT_THAT(scrape.Gauge("jepalab_vq_target_active_codes", run_labels_), Optional(DoubleEq(32)));
  EXPECT_THAT(scrape.Gauge("jepalab_vq_target_perplexity", run_labels_), Optional(DoubleEq(20.25)));
  EXPECT_THAT(scrape.Gauge("jepalab_vq_target_dead_codes", run_labels_), Optional(DoubleEq(32)));
  // diagnostics/vq/* and vq_target/* are VQ gauges, never an "encoder" called vq or vq_target.
  EXPECT_EQ(scrape.Find("jepalab_embedding_effective_rank", With(run_labels_, "encoder", "vq")),
            absl::nullopt);
  EXPECT_EQ(scrape.Find("jepalab_embedding_variance", With(run_labels_, "encoder", "vq_target")),
            absl::nullopt);
}

TEST_F(PrometheusMetricsTest, RunInfoAndStateFollowTheRun) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  Labels running = With(With(run_labels_, "config_hash", "h1"), "state", "RUNNING");
  {
    Scrape scrape(registry_);
    EXPECT_THAT(scrape.Gauge("jepalab_run_info", running), Optional(DoubleEq(1)));
    EXPECT_THAT(scrape.Gauge("jepalab_run_state", run_labels_), Optional(DoubleEq(2)));
  }
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_SUCCEEDED), 10);
  Scrape scrape(registry_);
  EXPECT_EQ(scrape.Find("jepalab_run_info", running), absl::nullopt);
  EXPECT_THAT(scrape.Gauge("jepalab_run_info", With(running, "state", "SUCCEEDED")),
              Optional(DoubleEq(1)));
  EXPECT_THAT(scrape.Gauge("jepalab_run_state", run_labels_), Optional(DoubleEq(3)));
}

TEST_F(PrometheusMetricsTest, GaugesKeepTheNewestStep) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(Points({Point("exp-s1", "grad_norm", 5, 1.0)}));
  metrics_.ObservePoints(Points({Point("exp-s1", "grad_norm", 3, 9.0)}));  // late, older
  Scrape scrape(registry_);
  EXPECT_THAT(scrape.Gauge("jepalab_train_grad_norm", run_labels_), Optional(DoubleEq(1.0)));
  EXPECT_THAT(scrape.Gauge("jepalab_train_step", run_labels_), Optional(DoubleEq(5)));
}

TEST_F(PrometheusMetricsTest, CountersCountNewStepsOnceAndIngestion) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  const MetricPoints batch =
      Points({Point("exp-s1", "loss/total", 0, 1), Point("exp-s1", "lr", 0, 1),
              Point("exp-s1", "loss/total", 1, 1), Point("exp-s1", "loss/total", 2, 1)});
  metrics_.ObservePoints(batch);
  metrics_.ObservePoints(batch);  // a retried batch
  metrics_.ObservePoints(Points({Point("exp-s1", "loss/total", 3, 1)}));
  Scrape scrape(registry_);
  EXPECT_THAT(scrape.Counter("jepalab_train_steps_total", run_labels_), Optional(DoubleEq(4)));
  EXPECT_THAT(scrape.Counter("jepalab_metrics_points_ingested_total", {}), Optional(DoubleEq(9)));
  EXPECT_THAT(scrape.Counter("jepalab_metrics_batches_ingested_total", {}), Optional(DoubleEq(3)));
}

TEST_F(PrometheusMetricsTest, CumulativeVqSeriesBecomeCounters) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(Points({Point("exp-s1", metric_names::kVqRefreshes, 10, 2),
                                 Point("exp-s1", metric_names::kVqCodesReinitialized, 10, 7),
                                 Point("exp-s1", metric_names::kVqReinitializedInUse, 10, 1)}));
  metrics_.ObservePoints(Points({Point("exp-s1", metric_names::kVqRefreshes, 20, 5),
                                 Point("exp-s1", metric_names::kVqCodesReinitialized, 20, 19),
                                 Point("exp-s1", metric_names::kVqReinitializedInUse, 20, 4)}));
  metrics_.ObservePoints(Points({Point("exp-s1", metric_names::kVqRefreshes, 20, 5),
                                 Point("exp-s1", metric_names::kVqReinitializedInUse, 20, 4)}));
  Scrape scrape(registry_);
  EXPECT_THAT(scrape.Counter("jepalab_vq_refreshes_total", run_labels_), Optional(DoubleEq(5)));
  EXPECT_THAT(scrape.Counter("jepalab_vq_codes_reinitialized_total", run_labels_),
              Optional(DoubleEq(19)));
  EXPECT_THAT(scrape.Counter("jepalab_vq_codes_reinitialized_in_use_total", run_labels_),
              Optional(DoubleEq(4)));
}

TEST_F(PrometheusMetricsTest, CumulativeTargetVqSeriesBecomeTheirOwnCounters) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(
      Points({Point("exp-s1", metric_names::kVqTargetRefreshes, 10, 3),
              Point("exp-s1", metric_names::kVqTargetCodesReinitialized, 10, 9),
              Point("exp-s1", metric_names::kVqTargetReinitializedInUse, 10, 2),
              Point("exp-s1", "vq_target/refresh/reinitialized", 10, 9)}));  // history only
  metrics_.ObservePoints(Points({Point("exp-s1", metric_names::kVqTargetRefreshes, 20, 4)}));
  Scrape scrape(registry_);
  EXPECT_THAT(scrape.Counter("jepalab_vq_target_refreshes_total", run_labels_),
              Optional(DoubleEq(4)));
  EXPECT_THAT(scrape.Counter("jepalab_vq_target_codes_reinitialized_total", run_labels_),
              Optional(DoubleEq(9)));
  EXPECT_THAT(scrape.Counter("jepalab_vq_target_codes_reinitialized_in_use_total", run_labels_),
              Optional(DoubleEq(2)));
  EXPECT_EQ(scrape.Find("jepalab_vq_refreshes_total", run_labels_), absl::nullopt);
}

TEST_F(PrometheusMetricsTest, StepTimesFillTheHistogram) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(Points({Point("exp-s1", metric_names::kStepTimeSeconds, 1, 0.02),
                                 Point("exp-s1", metric_names::kStepTimeSeconds, 2, 0.2),
                                 Point("exp-s1", metric_names::kStepTimeSeconds, 3, 0.2)}));
  metrics_.ObservePoints(Points({Point("exp-s1", metric_names::kStepTimeSeconds, 3, 0.2)}));
  Scrape scrape(registry_);
  auto histogram = scrape.Find("jepalab_train_step_duration_seconds", run_labels_);
  ASSERT_TRUE(histogram.has_value());
  EXPECT_EQ(histogram->histogram.sample_count, 3u);
  EXPECT_DOUBLE_EQ(histogram->histogram.sample_sum, 0.42);
  std::map<double, uint64_t> cumulative;
  for (const auto& bucket : histogram->histogram.bucket) {
    cumulative[bucket.upper_bound] = bucket.cumulative_count;
  }
  EXPECT_EQ(cumulative[0.01], 0u);
  EXPECT_EQ(cumulative[0.025], 1u);
  EXPECT_EQ(cumulative[0.1], 1u);
  EXPECT_EQ(cumulative[0.25], 3u);
}

TEST_F(PrometheusMetricsTest, UnknownNamesAreNotExported) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(Points({Point("exp-s1", "loss/total", 1, 1)}));
  const std::set<std::string> before = Scrape(registry_).AllSeries();
  metrics_.ObservePoints(Points({Point("exp-s1", metric_names::kTrainLoss, 1, 1),
                                 Point("exp-s1", "custom/thing", 1, 1),
                                 Point("exp-s1", "diagnostics/context/unknown_stat", 1, 1),
                                 Point("exp-s1", "diagnostics/a/b/c", 1, 1)}));
  EXPECT_EQ(Scrape(registry_).AllSeries(), before);
}

TEST_F(PrometheusMetricsTest, PointsBeforeRegistrationMoveToTheExperiment) {
  metrics_.ObservePoints(Points({Point("exp-s1", "grad_norm", 1, 1)}));
  EXPECT_THAT(
      Scrape(registry_).Gauge("jepalab_train_grad_norm", {{"run", "exp-s1"}, {"experiment", ""}}),
      Optional(DoubleEq(1)));
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(Points({Point("exp-s1", "grad_norm", 2, 2)}));
  Scrape scrape(registry_);
  EXPECT_EQ(scrape.Find("jepalab_train_grad_norm", {{"run", "exp-s1"}, {"experiment", ""}}),
            absl::nullopt);
  EXPECT_THAT(scrape.Gauge("jepalab_train_grad_norm", run_labels_), Optional(DoubleEq(2)));
}

TEST_F(PrometheusMetricsTest, FinishedRunsAreRemovedAfterRetention) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObserveRun(MakeRun("exp-s2", "exp", common::v1::RUN_STATE_RUNNING), 0);
  metrics_.ObservePoints(Points({Point("exp-s1", "loss/total", 1, 1),
                                 Point("exp-s1", metric_names::kStepTimeSeconds, 1, 0.1),
                                 Point("exp-s2", "loss/total", 1, 1)}));
  constexpr int64_t kFinishedMs = 1'000'000;
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_DIVERGED), kFinishedMs);

  EXPECT_EQ(metrics_.ExpireFinishedRuns(kFinishedMs + kRetentionMs - 1), 0);
  EXPECT_GT(Scrape(registry_).SeriesOfRun("exp-s1"), 0);

  EXPECT_EQ(metrics_.ExpireFinishedRuns(kFinishedMs + kRetentionMs), 1);
  {
    Scrape scrape(registry_);
    EXPECT_EQ(scrape.SeriesOfRun("exp-s1"), 0);
    EXPECT_GT(scrape.SeriesOfRun("exp-s2"), 0);  // still running: untouched
  }

  // Late points do not bring a finished run back; a restart of the run does.
  metrics_.ObservePoints(Points({Point("exp-s1", "loss/total", 2, 1)}));
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_FAILED), kFinishedMs * 2);
  EXPECT_EQ(Scrape(registry_).SeriesOfRun("exp-s1"), 0);
  EXPECT_TRUE(metrics_.KnowsRun("exp-s1"));
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), kFinishedMs * 2);
  EXPECT_GT(Scrape(registry_).SeriesOfRun("exp-s1"), 0);
}

TEST_F(PrometheusMetricsTest, ARunningRunNeverExpires) {
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_SUCCEEDED), 0);
  metrics_.ObserveRun(MakeRun("exp-s1", "exp", common::v1::RUN_STATE_RUNNING), 1);
  EXPECT_EQ(metrics_.ExpireFinishedRuns(kRetentionMs * 10), 0);
  EXPECT_GT(Scrape(registry_).SeriesOfRun("exp-s1"), 0);
}

TEST(PrometheusMetricsCollapseTest, RobustDiagnosticsAndCollapseEventsAreExported) {
  prometheus::Registry registry;
  PrometheusMetrics metrics(registry, PrometheusMetricsOptions{kRetentionMs});
  metrics.ObserveRun(MakeRun("r1", "exp", common::v1::RUN_STATE_RUNNING), 0);
  MetricPoints points;
  *points.Add() = Point("r1", "diagnostics/context/rankme", 5, 1.5);
  *points.Add() = Point("r1", "diagnostics/target/isotropy_robust", 5, 0.2);
  *points.Add() = Point("r1", "diagnostics/target/isotropy", 5, 1e-5);
  metrics.ObservePoints(points);

  std::vector<v1::CollapseEvent> events(2);
  events[0].set_run_id("r1");
  events[0].set_indicator("embedding_rank");
  events[0].set_encoder("context");
  events[0].set_state(v1::COLLAPSE_STATE_WARNING);
  events[1] = events[0];
  events[1].set_state(v1::COLLAPSE_STATE_COLLAPSED);
  metrics.ObserveCollapseEvents(events);
  v1::CollapseEvent recovered = events[0];
  recovered.set_state(v1::COLLAPSE_STATE_OK);
  metrics.ObserveCollapseEvents({recovered});

  Scrape scrape(registry);
  const Labels context = {{"run", "r1"}, {"experiment", "exp"}, {"encoder", "context"}};
  const Labels target = {{"run", "r1"}, {"experiment", "exp"}, {"encoder", "target"}};
  EXPECT_EQ(scrape.Gauge("jepalab_embedding_rankme", context), 1.5);
  EXPECT_EQ(scrape.Gauge("jepalab_embedding_isotropy_robust", target), 0.2);
  EXPECT_EQ(scrape.Gauge("jepalab_embedding_isotropy", target), 1e-5);
  EXPECT_EQ(scrape.Gauge("jepalab_collapse_state", {{"run", "r1"},
                                                    {"experiment", "exp"},
                                                    {"indicator", "embedding_rank"},
                                                    {"encoder", "context"}}),
            1.0);  // OK again
  EXPECT_EQ(scrape.Counter("jepalab_collapse_events_total", {{"run", "r1"},
                                                             {"experiment", "exp"},
                                                             {"indicator", "embedding_rank"},
                                                             {"severity", "collapsed"}}),
            1.0);
  EXPECT_EQ(scrape.Counter("jepalab_collapse_events_total", {{"run", "r1"},
                                                             {"experiment", "exp"},
                                                             {"indicator", "embedding_rank"},
                                                             {"severity", "warning"}}),
            1.0);

  v1::DetectorStatus status;
  status.set_indicator("codebook_usage");
  status.set_state(v1::COLLAPSE_STATE_COLLAPSED);
  metrics.ObserveDetectorStatuses("r1", {status});
  EXPECT_EQ(Scrape(registry).Gauge(
                "jepalab_collapse_state",
                {{"run", "r1"}, {"experiment", "exp"}, {"indicator", "codebook_usage"}}),
            3.0);
}

}  // namespace
}  // namespace jepalab::metrics
