#include "bench/load/latency_recorder.h"

#include <vector>

#include "gtest/gtest.h"

namespace jepalab::load {
namespace {

TEST(PercentileTest, NearestRank) {
  std::vector<double> sorted;
  for (int i = 1; i <= 100; ++i) sorted.push_back(i);
  EXPECT_EQ(Percentile(sorted, 0.50), 50);
  EXPECT_EQ(Percentile(sorted, 0.99), 99);
  EXPECT_EQ(Percentile(sorted, 1.0), 100);
  EXPECT_EQ(Percentile({7}, 0.99), 7);
  EXPECT_EQ(Percentile({}, 0.5), 0);
}

TEST(LatencyRecorderTest, SummarisesPerKindWithErrors) {
  LatencyRecorder recorder;
  recorder.Record("b", 3, true);
  recorder.Record("a", 1, true);
  recorder.Record("a", 9, false, "boom");
  recorder.Record("a", 5, false, "second");
  const std::vector<LatencySummary> s = recorder.Summaries();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, "a");
  EXPECT_EQ(s[0].count, 3);
  EXPECT_EQ(s[0].errors, 2);
  EXPECT_EQ(s[0].p50_ms, 5);
  EXPECT_EQ(s[0].max_ms, 9);
  EXPECT_EQ(s[0].first_error, "boom");
  EXPECT_EQ(s[1].errors, 0);
  EXPECT_EQ(recorder.TotalErrors(), 2);
  const std::string table = FormatLatencyTable(s);
  EXPECT_NE(table.find("first error of a: boom"), std::string::npos) << table;
}

}  // namespace
}  // namespace jepalab::load
