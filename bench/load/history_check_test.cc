#include "bench/load/history_check.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace jepalab::load {
namespace {

namespace met = ::jepalab::metrics::v1;

// The history metrics_service would return for steps [0, steps) of `run`.
met::GetRunHistoryResponse HistoryOf(const SyntheticRun& run, int64_t steps) {
  std::map<std::string, met::Series> by_name;
  for (int64_t step = 0; step < steps; ++step) {
    for (const std::string& name : run.NamesAt(step)) {
      met::SeriesPoint* p = by_name[name].add_points();
      p->set_step(step);
      p->set_value(run.Value(name, step));
    }
  }
  met::GetRunHistoryResponse out;
  out.set_run_id(run.run_id());
  for (auto& [name, series] : by_name) {
    series.set_name(name);
    *out.add_series() = series;
  }
  return out;
}

TEST(SyntheticRunTest, ReportsTwentyToFortyNamesPerStep) {
  const SyntheticRun run("r", 0, 0);
  for (int64_t step = 0; step < 300; ++step) {
    EXPECT_GE(run.NamesAt(step).size(), 20u);
    EXPECT_LE(run.NamesAt(step).size(), 40u);
    EXPECT_EQ(run.Batch(step).points_size(), static_cast<int>(run.NamesAt(step).size()));
  }
  EXPECT_EQ(run.PointsBefore(2),
            static_cast<int64_t>(run.NamesAt(0).size() + run.NamesAt(1).size()));
}

TEST(SyntheticRunTest, CollapsingRunsRankMeFalls) {
  const SyntheticRun healthy("h", 1, 2), collapsing("c", 2, 2);
  EXPECT_GT(healthy.Value("diagnostics/context/rankme", 400), 5);
  EXPECT_LT(collapsing.Value("diagnostics/context/rankme", 400), 2);
}

TEST(HistoryCheckTest, CompleteHistoryIsClean) {
  const SyntheticRun run("r", 3, 0);
  const HistoryCheck check = CheckHistory(run, 150, HistoryOf(run, 150));
  EXPECT_TRUE(check.Clean());
  EXPECT_EQ(check.expected, run.PointsBefore(150));
  EXPECT_EQ(check.stored, check.expected);
}

TEST(HistoryCheckTest, FindsLostDuplicatedAndWrongPoints) {
  const SyntheticRun run("r", 3, 0);
  met::GetRunHistoryResponse history = HistoryOf(run, 10);
  met::Series* series = history.mutable_series(0);
  series->mutable_points()->RemoveLast();     // lost
  *series->add_points() = series->points(0);  // duplicated
  series->mutable_points(1)->set_value(-1);   // wrong value
  const HistoryCheck check = CheckHistory(run, 10, history);
  EXPECT_EQ(check.lost, 1);
  EXPECT_EQ(check.duplicates, 1);
  EXPECT_EQ(check.wrong_value, 1);
  EXPECT_FALSE(check.Clean());
}

TEST(HistoryCheckTest, StepsBeyondTheAcknowledgedAreNotLosses) {
  const SyntheticRun run("r", 3, 0);
  const HistoryCheck check = CheckHistory(run, 5, HistoryOf(run, 8));
  EXPECT_TRUE(check.Clean());
  EXPECT_EQ(check.unacknowledged, run.PointsBefore(8) - run.PointsBefore(5));
}

}  // namespace
}  // namespace jepalab::load
