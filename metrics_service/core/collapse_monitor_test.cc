#include "metrics_service/core/collapse_monitor.h"

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/config/metrics_service_config.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StatusIs;

MetricPoints Points(const std::string& run_id, const std::string& name,
                    const std::vector<std::pair<int64_t, double>>& steps_values) {
  MetricPoints points;
  for (const auto& [step, value] : steps_values) {
    v1::MetricPoint* point = points.Add();
    point->set_run_id(run_id);
    point->set_name(name);
    point->set_step(step);
    point->set_value(value);
  }
  return points;
}

v1::RunInfo MakeRun(const std::string& run_id, const std::string& experiment,
                    common::v1::RunState state = common::v1::RUN_STATE_RUNNING) {
  v1::RunInfo run;
  run.set_run_id(run_id);
  run.set_experiment(experiment);
  run.set_state(state);
  return run;
}

TEST(CollapseMonitorTest, EvaluatesABatchInStepOrderAndStampsExperimentAndTime) {
  CollapseMonitor monitor{config::v1::CollapseDetectorsConfig()};
  monitor.ObserveRun(MakeRun("r1", "exp"), 0);
  // Out of order within the batch: the collapse is at step 300, after the warning at 200.
  const auto events = monitor.ObservePoints(
      Points("r1", "diagnostics/context/rankme", {{300, 1.0}, {100, 9}, {200, 4}}),
      /*now_ms=*/777);
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].step(), 200);
  EXPECT_EQ(events[1].step(), 300);
  EXPECT_EQ(events[1].experiment(), "exp");
  EXPECT_EQ(events[1].unix_ms(), 777);
  EXPECT_THAT(monitor.Statuses("r1"), SizeIs(1));
  EXPECT_THAT(monitor.Statuses("unknown"), IsEmpty());
}

TEST(CollapseMonitorTest, SubscribersGetMatchingEventsUntilUnsubscribed) {
  CollapseMonitor monitor{config::v1::CollapseDetectorsConfig()};
  std::vector<v1::CollapseEvent> all, only_r2;
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      int64_t all_id, monitor.Subscribe({}, [&](const v1::CollapseEvent& e) { all.push_back(e); }));
  v1::WatchCollapseEventsRequest filter;
  filter.add_run_ids("r2");
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      int64_t r2_id,
      monitor.Subscribe(filter, [&](const v1::CollapseEvent& e) { only_r2.push_back(e); }));
  EXPECT_EQ(monitor.NumSubscribers(), 2);

  monitor.ObservePoints(Points("r1", "diagnostics/vq/usage_ratio", {{1, 0.01}}), 1);
  monitor.ObservePoints(Points("r2", "diagnostics/vq/usage_ratio", {{1, 0.01}}), 1);
  EXPECT_THAT(all, SizeIs(2));
  ASSERT_THAT(only_r2, SizeIs(1));
  EXPECT_EQ(only_r2[0].run_id(), "r2");

  monitor.Unsubscribe(all_id);
  monitor.Unsubscribe(r2_id);
  monitor.ObservePoints(Points("r3", "diagnostics/vq/usage_ratio", {{1, 0.01}}), 1);
  EXPECT_THAT(all, SizeIs(2));
  EXPECT_EQ(monitor.NumSubscribers(), 0);
}

TEST(CollapseMonitorTest, IncludeCurrentSendsNonOkDetectorsFirst) {
  CollapseMonitor monitor{config::v1::CollapseDetectorsConfig()};
  monitor.ObservePoints(Points("r1", "diagnostics/vq/usage_ratio", {{5, 0.01}}), 1);
  monitor.ObservePoints(Points("r2", "diagnostics/vq/usage_ratio", {{5, 0.9}}), 1);
  std::vector<v1::CollapseEvent> events;
  v1::WatchCollapseEventsRequest filter;
  filter.set_include_current(true);
  ASSERT_THAT(
      monitor.Subscribe(filter, [&](const v1::CollapseEvent& e) { events.push_back(e); }).status(),
      ::testing::IsOk());
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].run_id(), "r1");
  EXPECT_EQ(events[0].state(), v1::COLLAPSE_STATE_COLLAPSED);
  EXPECT_EQ(events[0].previous_state(), v1::COLLAPSE_STATE_UNSPECIFIED);
}

TEST(CollapseMonitorTest, SubscribeValidatesTheFilter) {
  CollapseMonitor monitor{config::v1::CollapseDetectorsConfig()};
  v1::WatchCollapseEventsRequest filter;
  filter.add_run_ids("ok");
  filter.add_run_ids("bad id!");
  EXPECT_THAT(monitor.Subscribe(filter, [](const v1::CollapseEvent&) {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_ids[1]")));
  v1::WatchCollapseEventsRequest bad_experiment;
  bad_experiment.set_experiment("a b");
  EXPECT_THAT(monitor.Subscribe(bad_experiment, [](const v1::CollapseEvent&) {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("experiment")));
  EXPECT_EQ(monitor.NumSubscribers(), 0);
}

TEST(CollapseMonitorTest, ReplayRebuildsTheStateWithoutPublishing) {
  CollapseMonitor monitor{config::v1::CollapseDetectorsConfig()};
  std::vector<v1::CollapseEvent> published;
  ASSERT_THAT(
      monitor.Subscribe({}, [&](const v1::CollapseEvent& e) { published.push_back(e); }).status(),
      ::testing::IsOk());
  std::vector<v1::Series> history(2);
  history[0].set_name("diagnostics/target/rankme");
  for (auto [step, value] : std::vector<std::pair<int64_t, double>>{{10, 8}, {20, 1.5}}) {
    v1::SeriesPoint* point = history[0].add_points();
    point->set_step(step);
    point->set_value(value);
    point->set_unix_ms(100 + step);
  }
  history[1].set_name("grad_norm");
  history[1].add_points()->set_step(20);
  monitor.Replay(MakeRun("r1", "exp"), history);
  EXPECT_THAT(published, IsEmpty());
  const auto statuses = monitor.Statuses("r1");
  ASSERT_THAT(statuses, SizeIs(2));  // divergence (from grad_norm) and embedding_rank/target
  EXPECT_EQ(statuses[1].indicator(), "embedding_rank");
  EXPECT_EQ(statuses[1].first_collapse_step(), 20);
  EXPECT_EQ(statuses[1].first_collapse_unix_ms(), 120);
  // Live points continue from the replayed state: an older step is ignored.
  EXPECT_THAT(monitor.ObservePoints(Points("r1", "diagnostics/target/rankme", {{15, 9}}), 1),
              IsEmpty());
}

}  // namespace
}  // namespace jepalab::metrics
