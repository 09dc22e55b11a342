// The load test in small (10 streams, 5 s) over the real binaries: no request fails, every
// acknowledged point is stored exactly once, and every kind of query ran.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/load/load_test.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab::load {
namespace {

using ::jepalab::testing::RunfilePath;

TEST(LoadSmokeTest, TenStreamsWithQueriesLoseNothing) {
  LoadTestOptions options;
  options.metrics_server = RunfilePath("metrics_service/metrics_server");
  options.scheduler_server = RunfilePath("scheduler_service/scheduler_server");
  options.cli_binary = RunfilePath("cli/jepalab");
  options.data_dir = testing::MakeTempDir("load_smoke_");
  options.duration = absl::Seconds(5);
  options.streams = 10;
  options.steps_per_second = 20;  // collapsing runs pass step 50 after 2.5 s
  options.collapse_every = 2;
  JEPALAB_ASSERT_OK_AND_ASSIGN(LoadTestResult result, RunLoadTest(options));
  const std::string report = FormatLoadReport(options, result);
  std::printf("%s", report.c_str());  // in the test log
  SCOPED_TRACE(report);

  EXPECT_EQ(result.errors, 0);
  EXPECT_EQ(result.runs_failed, 0);
  EXPECT_EQ(result.history.lost, 0);
  EXPECT_EQ(result.history.duplicates, 0);
  EXPECT_EQ(result.history.wrong_value, 0);
  EXPECT_EQ(result.history.unexpected, 0);
  // 10 streams at 20 steps/s for ~5 s: far more than 10 steps each, all of them stored.
  EXPECT_GE(result.acked_steps, 10 * 20);
  EXPECT_EQ(result.history.expected, result.acked_points);
  EXPECT_EQ(result.history.stored, result.acked_points);
  EXPECT_GT(result.collapse_events, 0);  // half the runs collapse from step 50 (2.5 s)
  for (const std::string kind :
       {"RegisterRun", "ReportMetrics Write", "ReportMetrics ack", "UpdateRunState",
        "GetRunHistory", "ListRuns", "CompareRuns", "GetCollapseStatus", "HTTP GET /metrics",
        "CLI metrics --name", "CLI list", "GetRunHistory (read-back)"}) {
    bool ran = false;
    for (const LatencySummary& s : result.latencies) ran |= s.kind == kind && s.count > 0;
    EXPECT_TRUE(ran) << kind << " never ran";
  }
  EXPECT_TRUE(result.Passed());
}

}  // namespace
}  // namespace jepalab::load
