#include "metrics_service/core/metrics_core.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics_service/core/prometheus_metrics.h"
#include "metrics_service/core/run_store.h"
#include "prometheus/registry.h"
#include "proto/common.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::SizeIs;
using ::testing::StatusIs;

constexpr int64_t kRetentionMs = 300'000;

std::string FreshDbPath() {
  const char* dir = std::getenv("TEST_TMPDIR");
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  // Parameterised names contain '/': keep the file directly in TEST_TMPDIR.
  std::string file = absl::StrCat(test->test_suite_name(), ".", test->name(), ".db");
  std::replace(file.begin(), file.end(), '/', '_');
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", file);
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

v1::MetricPoint Point(const std::string& run_id, const std::string& name, int64_t step,
                      double value) {
  v1::MetricPoint point;
  point.set_run_id(run_id);
  point.set_name(name);
  point.set_step(step);
  point.set_value(value);
  point.set_epoch(1);
  return point;
}

v1::ReportMetricsRequest Batch(std::initializer_list<v1::MetricPoint> points) {
  v1::ReportMetricsRequest batch;
  for (const v1::MetricPoint& point : points) *batch.add_points() = point;
  return batch;
}

// Whether the registry exports any series labelled run=`run_id`.
bool Exported(prometheus::Registry& registry, const std::string& run_id) {
  for (const auto& family : registry.Collect()) {
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "run" && label.value == run_id) return true;
      }
    }
  }
  return false;
}

class MetricsCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = FreshDbPath();
    JEPALAB_ASSERT_OK_AND_ASSIGN(store_, SqliteRunStore::Create(path_));
    metrics_ =
        std::make_unique<PrometheusMetrics>(registry_, PrometheusMetricsOptions{kRetentionMs});
    core_ = std::make_unique<MetricsCore>(store_.get(), metrics_.get(), &clock_);
  }

  v1::RunInfo RegisterRun(const std::string& run_id, const std::string& experiment) {
    v1::RunInfo run;
    run.set_run_id(run_id);
    run.set_experiment(experiment);
    run.set_config_yaml("seed: 1\n");
    run.set_config_hash("cafe");
    run.set_state(common::v1::RUN_STATE_RUNNING);
    absl::StatusOr<v1::RunInfo> registered = core_->RegisterRun(run);
    EXPECT_THAT(registered, IsOk());
    return registered.ok() ? *registered : v1::RunInfo();
  }

  int64_t NumRuns() {
    absl::StatusOr<v1::ListRunsResponse> runs = core_->ListRuns({});
    EXPECT_THAT(runs, IsOk());
    return runs.ok() ? runs->runs_size() : -1;
  }

  std::string path_;
  ::jepalab::testing::FakeClock clock_;
  prometheus::Registry registry_;
  std::unique_ptr<SqliteRunStore> store_;
  std::unique_ptr<PrometheusMetrics> metrics_;
  std::unique_ptr<MetricsCore> core_;
};

TEST_F(MetricsCoreTest, ReportMetricsStoresPointsOfAnUnregisteredRun) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      int64_t accepted,
      core_->ReportMetrics(Batch({Point("r1", "loss/total", 0, 3.0),
                                  Point("r1", "loss/total", 1, 2.0), Point("r1", "lr", 1, 0.1)})));
  EXPECT_EQ(accepted, 3);

  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::ListRunsResponse runs, core_->ListRuns({}));
  ASSERT_THAT(runs.runs(), SizeIs(1));
  EXPECT_EQ(runs.runs(0).run_id(), "r1");
  EXPECT_EQ(runs.runs(0).experiment(), "");
  EXPECT_EQ(runs.runs(0).num_points(), 3);
  EXPECT_EQ(runs.runs(0).last_step(), 1);
  EXPECT_EQ(runs.runs(0).created_unix_ms(), clock_.NowUnixMillis());

  v1::GetRunHistoryRequest request;
  request.set_run_id("r1");
  request.add_names("loss/total");
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetRunHistoryResponse history, core_->GetRunHistory(request));
  EXPECT_EQ(history.run_id(), "r1");
  ASSERT_THAT(history.series(), SizeIs(1));
  ASSERT_THAT(history.series(0).points(), SizeIs(2));
  EXPECT_EQ(history.series(0).points(1).value(), 2.0);
  EXPECT_EQ(history.series(0).points(1).unix_ms(), clock_.NowUnixMillis());
}

struct BadPointCase {
  std::string test_name;
  v1::MetricPoint point;
  std::string expected;  // substring of the error
};

class ReportMetricsValidationTest : public MetricsCoreTest,
                                    public ::testing::WithParamInterface<BadPointCase> {};

TEST_P(ReportMetricsValidationTest, RejectsTheWholeBatchNamingTheField) {
  // The good point comes first: it must not be written either.
  v1::ReportMetricsRequest batch = Batch({Point("good-run", "loss/total", 0, 1.0)});
  *batch.add_points() = GetParam().point;
  EXPECT_THAT(core_->ReportMetrics(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().expected)));
  EXPECT_EQ(NumRuns(), 0);
}

v1::MetricPoint With(std::function<void(v1::MetricPoint&)> change) {
  v1::MetricPoint point = Point("run-1", "loss/total", 5, 1.0);
  change(point);
  return point;
}

INSTANTIATE_TEST_SUITE_P(
    BadFields, ReportMetricsValidationTest,
    ::testing::Values(
        BadPointCase{"EmptyRunId", With([](auto& p) { p.clear_run_id(); }),
                     "points[1].run_id: must not be empty"},
        BadPointCase{"RunIdWithSlash", With([](auto& p) { p.set_run_id("a/../b"); }),
                     "points[1].run_id: must match"},
        BadPointCase{"EmptyName", With([](auto& p) { p.clear_name(); }),
                     "points[1].name: must not be empty"},
        BadPointCase{"LongName", With([](auto& p) { p.set_name(std::string(129, 'a')); }),
                     "points[1].name: must be at most 128 characters, got 129"},
        BadPointCase{"NameWithSpace", With([](auto& p) { p.set_name("loss total"); }),
                     "points[1].name: must match [A-Za-z0-9_./-]+, got \"loss total\""},
        BadPointCase{"NegativeStep", With([](auto& p) { p.set_step(-1); }),
                     "points[1].step: must be >= 0, got -1"},
        BadPointCase{"NegativeEpoch", With([](auto& p) { p.set_epoch(-2); }),
                     "points[1].epoch: must be >= 0, got -2"},
        BadPointCase{"NanValue",
                     With([](auto& p) { p.set_value(std::numeric_limits<double>::quiet_NaN()); }),
                     "points[1].value: must be finite, got nan"},
        BadPointCase{"InfValue",
                     With([](auto& p) { p.set_value(-std::numeric_limits<double>::infinity()); }),
                     "points[1].value: must be finite, got -inf"},
        BadPointCase{"NegativeUnixMs", With([](auto& p) { p.set_unix_ms(-5); }),
                     "points[1].unix_ms: must be >= 0"}),
    [](const ::testing::TestParamInfo<BadPointCase>& info) { return info.param.test_name; });

TEST_F(MetricsCoreTest, ResentBatchReplacesPoints) {
  const v1::ReportMetricsRequest batch =
      Batch({Point("r1", "loss/total", 0, 3.0), Point("r1", "loss/total", 1, 2.0)});
  ASSERT_THAT(core_->ReportMetrics(batch), IsOk());
  ASSERT_THAT(core_->ReportMetrics(batch), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::ListRunsResponse runs, core_->ListRuns({}));
  ASSERT_THAT(runs.runs(), SizeIs(1));
  EXPECT_EQ(runs.runs(0).num_points(), 2);
}

TEST_F(MetricsCoreTest, RegisterRunIsAnIdempotentUpsert) {
  const int64_t created = clock_.NowUnixMillis();
  v1::RunInfo first = RegisterRun("exp-s1", "exp");
  EXPECT_EQ(first.created_unix_ms(), created);
  EXPECT_EQ(first.state(), common::v1::RUN_STATE_RUNNING);

  clock_.AdvanceMillis(500);
  v1::RunInfo again;
  again.set_run_id("exp-s1");
  again.set_experiment("exp");
  again.set_config_hash("beef");  // state left unspecified: keep RUNNING
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo second, core_->RegisterRun(again));
  EXPECT_EQ(second.created_unix_ms(), created);
  EXPECT_EQ(second.updated_unix_ms(), created + 500);
  EXPECT_EQ(second.state(), common::v1::RUN_STATE_RUNNING);
  EXPECT_EQ(second.config_hash(), "beef");
  EXPECT_EQ(NumRuns(), 1);
}

TEST_F(MetricsCoreTest, RegisterAfterPointsKeepsThemAndSetsTheExperiment) {
  ASSERT_THAT(core_->ReportMetrics(Batch({Point("exp-s1", "loss/total", 4, 1.0)})), IsOk());
  v1::RunInfo run = RegisterRun("exp-s1", "exp");
  EXPECT_EQ(run.experiment(), "exp");
  EXPECT_EQ(run.num_points(), 1);
  EXPECT_EQ(run.last_step(), 4);
}

TEST_F(MetricsCoreTest, RegisterRunValidatesFields) {
  v1::RunInfo run;
  run.set_run_id("../etc");
  EXPECT_THAT(core_->RegisterRun(run),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run.run_id")));
  run.set_run_id("ok-run");
  run.set_experiment("bad experiment");
  EXPECT_THAT(core_->RegisterRun(run),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run.experiment")));
  run.set_experiment("exp");
  run.set_state(static_cast<common::v1::RunState>(42));
  EXPECT_THAT(core_->RegisterRun(run), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("run.state: unknown run state 42")));
  run.set_state(common::v1::RUN_STATE_QUEUED);
  run.set_config_hash(std::string(200, 'f'));
  EXPECT_THAT(core_->RegisterRun(run),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run.config_hash")));
  EXPECT_EQ(NumRuns(), 0);
}

TEST_F(MetricsCoreTest, UpdateRunState) {
  v1::UpdateRunStateRequest request;
  request.set_run_id("exp-s1");
  request.set_state(common::v1::RUN_STATE_DIVERGED);
  request.set_message("loss/info_nce is nan at step 12");
  EXPECT_THAT(core_->UpdateRunState(request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("exp-s1")));

  RegisterRun("exp-s1", "exp");
  clock_.AdvanceMillis(1000);
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo run, core_->UpdateRunState(request));
  EXPECT_EQ(run.state(), common::v1::RUN_STATE_DIVERGED);
  EXPECT_EQ(run.message(), "loss/info_nce is nan at step 12");
  EXPECT_EQ(run.updated_unix_ms(), clock_.NowUnixMillis());
  EXPECT_EQ(run.experiment(), "exp");

  request.set_state(common::v1::RUN_STATE_UNSPECIFIED);
  EXPECT_THAT(core_->UpdateRunState(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("state: must be set")));
  request.set_run_id("");
  EXPECT_THAT(core_->UpdateRunState(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id")));
}

TEST_F(MetricsCoreTest, GetRunHistoryValidatesArguments) {
  RegisterRun("r1", "exp");
  v1::GetRunHistoryRequest request;
  request.set_run_id("unknown");
  EXPECT_THAT(core_->GetRunHistory(request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown")));
  request.set_run_id("r1");
  request.set_min_step(10);
  request.set_max_step(5);
  EXPECT_THAT(core_->GetRunHistory(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_step: must be >= min_step (10) or 0 for no bound, got 5")));
  request.set_max_step(0);
  request.set_max_points(-1);
  EXPECT_THAT(core_->GetRunHistory(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_points")));
  request.set_max_points(0);
  request.set_min_step(-3);
  EXPECT_THAT(core_->GetRunHistory(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr("min_step: must be >= 0, got -3")));
  request.set_min_step(0);
  request.add_names("lr");
  request.add_names("bad name");
  EXPECT_THAT(core_->GetRunHistory(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names[1]")));
}

TEST_F(MetricsCoreTest, GetRunHistoryDownsamplesAndKeepsRequestedOrder) {
  v1::ReportMetricsRequest batch;
  for (int step = 0; step < 100; ++step) {
    *batch.add_points() = Point("r1", "loss/total", step, step);
    *batch.add_points() = Point("r1", "lr", step, 1.0);
  }
  ASSERT_THAT(core_->ReportMetrics(batch), IsOk());
  v1::GetRunHistoryRequest request;
  request.set_run_id("r1");
  request.add_names("lr");
  request.add_names("loss/total");
  request.add_names("lr");  // duplicate: dropped
  request.set_max_points(10);
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetRunHistoryResponse history, core_->GetRunHistory(request));
  ASSERT_THAT(history.series(), SizeIs(2));
  EXPECT_EQ(history.series(0).name(), "lr");
  EXPECT_EQ(history.series(1).name(), "loss/total");
  const v1::Series& loss = history.series(1);
  ASSERT_THAT(loss.points(), SizeIs(10));
  EXPECT_EQ(loss.points(0).step(), 9);
  EXPECT_DOUBLE_EQ(loss.points(0).value(), 4.5);  // mean of 0..9
  EXPECT_EQ(loss.points(9).step(), 99);
  EXPECT_DOUBLE_EQ(loss.points(9).value(), 94.5);
}

TEST_F(MetricsCoreTest, CompareRunsSummarisesSharedMetrics) {
  ASSERT_THAT(core_->ReportMetrics(
                  Batch({Point("a", "loss/total", 0, 5.0), Point("a", "loss/total", 10, 2.0),
                         Point("a", "loss/total", 20, 3.0), Point("a", "lr", 0, 0.1),
                         Point("b", "loss/total", 0, 4.0), Point("b", "loss/total", 10, 1.0),
                         Point("b", "grad_norm", 10, 9.0)})),
              IsOk());
  v1::CompareRunsRequest request;
  request.add_run_ids("a");
  request.add_run_ids("b");
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::CompareRunsResponse response, core_->CompareRuns(request));
  ASSERT_THAT(response.runs(), SizeIs(2));
  EXPECT_EQ(response.runs(0).run().run_id(), "a");
  ASSERT_THAT(response.runs(0).metrics(), SizeIs(1));  // only loss/total is shared
  const v1::MetricSummary& a = response.runs(0).metrics(0);
  EXPECT_EQ(a.name(), "loss/total");
  EXPECT_EQ(a.count(), 3);
  EXPECT_DOUBLE_EQ(a.first(), 5.0);
  EXPECT_DOUBLE_EQ(a.last(), 3.0);
  EXPECT_DOUBLE_EQ(a.min(), 2.0);
  EXPECT_EQ(a.min_step(), 10);
  EXPECT_DOUBLE_EQ(a.max(), 5.0);
  EXPECT_EQ(a.max_step(), 0);
  EXPECT_EQ(a.last_step(), 20);
  const v1::MetricSummary& b = response.runs(1).metrics(0);
  EXPECT_EQ(b.count(), 2);
  EXPECT_DOUBLE_EQ(b.min(), 1.0);
  EXPECT_EQ(response.runs(1).run().num_points(), 3);

  request.add_names("grad_norm");
  JEPALAB_ASSERT_OK_AND_ASSIGN(response, core_->CompareRuns(request));
  EXPECT_THAT(response.runs(0).metrics(), SizeIs(0));
  ASSERT_THAT(response.runs(1).metrics(), SizeIs(1));
  EXPECT_DOUBLE_EQ(response.runs(1).metrics(0).last(), 9.0);
}

TEST_F(MetricsCoreTest, CompareRunsErrors) {
  EXPECT_THAT(core_->CompareRuns({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("run_ids: must not be empty")));
  v1::CompareRunsRequest request;
  request.add_run_ids("missing");
  EXPECT_THAT(core_->CompareRuns(request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
  request.add_run_ids("bad id!");
  EXPECT_THAT(core_->CompareRuns(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_ids[1]")));
}

TEST_F(MetricsCoreTest, FinishedRunLeavesPrometheusAfterRetentionButKeepsHistory) {
  RegisterRun("exp-s1", "exp");
  ASSERT_THAT(core_->ReportMetrics(Batch({Point("exp-s1", "loss/total", 1, 1.0)})), IsOk());
  EXPECT_TRUE(Exported(registry_, "exp-s1"));

  v1::UpdateRunStateRequest done;
  done.set_run_id("exp-s1");
  done.set_state(common::v1::RUN_STATE_SUCCEEDED);
  ASSERT_THAT(core_->UpdateRunState(done), IsOk());
  clock_.AdvanceMillis(kRetentionMs - 1);
  EXPECT_EQ(core_->ExpireFinishedRuns(), 0);
  EXPECT_TRUE(Exported(registry_, "exp-s1"));
  clock_.AdvanceMillis(1);
  EXPECT_EQ(core_->ExpireFinishedRuns(), 1);
  EXPECT_FALSE(Exported(registry_, "exp-s1"));

  v1::GetRunHistoryRequest request;
  request.set_run_id("exp-s1");
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetRunHistoryResponse history, core_->GetRunHistory(request));
  ASSERT_THAT(history.series(), SizeIs(1));
  EXPECT_THAT(history.series(0).points(), SizeIs(1));
}

TEST_F(MetricsCoreTest, RestoreRunsReExportsLiveRunsAfterRestart) {
  RegisterRun("live", "exp");
  RegisterRun("old", "exp");
  v1::UpdateRunStateRequest done;
  done.set_run_id("old");
  done.set_state(common::v1::RUN_STATE_FAILED);
  ASSERT_THAT(core_->UpdateRunState(done), IsOk());
  clock_.AdvanceMillis(kRetentionMs + 1);

  // A restarted service: same database, fresh registry.
  prometheus::Registry registry;
  PrometheusMetrics metrics(registry, PrometheusMetricsOptions{kRetentionMs});
  MetricsCore restarted(store_.get(), &metrics, &clock_);
  ASSERT_THAT(restarted.RestoreRuns(), IsOk());
  EXPECT_TRUE(Exported(registry, "live"));
  EXPECT_FALSE(Exported(registry, "old"));
}

TEST_F(MetricsCoreTest, CompareRunsGivesBestWorstAndTheFirstCollapse) {
  clock_.AdvanceMillis(1000);
  const int64_t now_ms = clock_.NowUnixMillis();
  ASSERT_THAT(core_->ReportMetrics(Batch({
                  Point("a", "loss/total", 0, 5.0),
                  Point("a", "loss/total", 10, 2.0),
                  Point("a", "diagnostics/context/rankme", 0, 9.0),
                  Point("a", "diagnostics/context/rankme", 10, 1.0),
                  Point("a", "diagnostics/vq/usage_ratio", 5, 0.01),
                  Point("a", "diagnostics/vq_target/usage_ratio", 5, 0.5),
                  Point("a", "diagnostics/vq_target/dead_codes", 5, 7),
                  Point("a", "lr", 0, 0.1),
              })),
              IsOk());
  v1::CompareRunsRequest request;
  request.add_run_ids("a");
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::CompareRunsResponse response, core_->CompareRuns(request));
  ASSERT_THAT(response.runs(), SizeIs(1));
  const v1::RunComparison& a = response.runs(0);
  for (const v1::MetricSummary& summary : a.metrics()) {
    if (summary.name() == "loss/total") {
      EXPECT_EQ(summary.better(), "lower");
      EXPECT_EQ(summary.best(), 2.0);
      EXPECT_EQ(summary.best_step(), 10);
      EXPECT_EQ(summary.worst(), 5.0);
      EXPECT_EQ(summary.worst_step(), 0);
    } else if (summary.name() == "diagnostics/context/rankme") {
      EXPECT_EQ(summary.better(), "higher");
      EXPECT_EQ(summary.best(), 9.0);
      EXPECT_EQ(summary.worst_step(), 10);
    } else if (summary.name() == "diagnostics/vq_target/usage_ratio") {
      EXPECT_EQ(summary.better(), "higher");
    } else if (summary.name() == "diagnostics/vq_target/dead_codes") {
      EXPECT_EQ(summary.better(), "lower");
    } else if (summary.name() == "lr") {
      EXPECT_EQ(summary.better(), "");
    }
  }
  // Codebook usage collapsed at step 5, before the rank at step 10.
  EXPECT_EQ(a.first_collapse_step(), 5);
  EXPECT_EQ(a.first_collapse_unix_ms(), now_ms);
  EXPECT_EQ(a.first_collapse_indicator(), "codebook_usage");
  EXPECT_THAT(a.detectors(), SizeIs(4));  // codebook, divergence, plateau, rank/context

  // A healthy run reports no collapse.
  ASSERT_THAT(core_->ReportMetrics(Batch({Point("b", "diagnostics/context/rankme", 0, 9.0)})),
              IsOk());
  request.set_run_ids(0, "b");
  JEPALAB_ASSERT_OK_AND_ASSIGN(response, core_->CompareRuns(request));
  EXPECT_EQ(response.runs(0).first_collapse_step(), -1);
  EXPECT_EQ(response.runs(0).first_collapse_unix_ms(), -1);
}

TEST_F(MetricsCoreTest, CollapseEventsReachWatchersAndPrometheus) {
  RegisterRun("r1", "exp");
  std::vector<v1::CollapseEvent> events;
  v1::WatchCollapseEventsRequest watch;
  watch.add_run_ids("r1");
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      int64_t id,
      core_->WatchCollapseEvents(watch, [&](const v1::CollapseEvent& e) { events.push_back(e); }));
  ASSERT_THAT(core_->ReportMetrics(Batch({Point("r1", "diagnostics/target/rankme", 3, 1.5)})),
              IsOk());
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].experiment(), "exp");
  EXPECT_EQ(events[0].indicator(), "embedding_rank");
  EXPECT_EQ(events[0].state(), v1::COLLAPSE_STATE_COLLAPSED);

  v1::UpdateRunStateRequest diverged;
  diverged.set_run_id("r1");
  diverged.set_state(common::v1::RUN_STATE_DIVERGED);
  ASSERT_THAT(core_->UpdateRunState(diverged), IsOk());
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[1].indicator(), "divergence");
  EXPECT_EQ(events[1].step(), 3);
  core_->UnwatchCollapseEvents(id);

  bool counted = false;
  for (const auto& family : registry_.Collect()) {
    if (family.name != "jepalab_collapse_events_total") continue;
    for (const auto& metric : family.metric) counted |= metric.counter.value == 1.0;
  }
  EXPECT_TRUE(counted);

  v1::GetCollapseStatusRequest status_request;
  status_request.set_run_id("r1");
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetCollapseStatusResponse status,
                               core_->GetCollapseStatus(status_request));
  EXPECT_THAT(status.detectors(), SizeIs(2));
  status_request.set_run_id("nope");
  EXPECT_THAT(core_->GetCollapseStatus(status_request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
  status_request.set_run_id("bad id");
  EXPECT_THAT(core_->GetCollapseStatus(status_request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id")));
}

TEST_F(MetricsCoreTest, RestoreRunsRebuildsDetectorStateFromHistory) {
  ASSERT_THAT(core_->ReportMetrics(Batch({Point("r1", "diagnostics/vq/usage_ratio", 0, 0.9),
                                          Point("r1", "diagnostics/vq/usage_ratio", 7, 0.01)})),
              IsOk());
  prometheus::Registry registry;
  PrometheusMetrics metrics(registry, PrometheusMetricsOptions{kRetentionMs});
  MetricsCore restarted(store_.get(), &metrics, &clock_);
  ASSERT_THAT(restarted.RestoreRuns(), IsOk());
  v1::GetCollapseStatusRequest request;
  request.set_run_id("r1");
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::GetCollapseStatusResponse status,
                               restarted.GetCollapseStatus(request));
  ASSERT_THAT(status.detectors(), SizeIs(1));
  EXPECT_EQ(status.detectors(0).state(), v1::COLLAPSE_STATE_COLLAPSED);
  EXPECT_EQ(status.detectors(0).first_collapse_step(), 7);
  bool exported = false;
  for (const auto& family : registry.Collect()) {
    if (family.name != "jepalab_collapse_state") continue;
    for (const auto& metric : family.metric) exported |= metric.gauge.value == 3.0;
  }
  EXPECT_TRUE(exported);
}

}  // namespace
}  // namespace jepalab::metrics
