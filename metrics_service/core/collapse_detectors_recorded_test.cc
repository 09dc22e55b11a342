// The default collapse detectors on histories recorded from real _mini runs
// (tests/testdata/histories/README.md): the a6000 _mini run, whose context encoder collapses, and
// its VQ ablation, which stays healthy.
#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "common/testing/recorded_history.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics_service/core/collapse_detectors.h"
#include "proto/config/metrics_service_config.pb.h"

namespace jepalab::metrics {
namespace {

using config::v1::CollapseDetectorsConfig;
using ::testing::HasSubstr;

// Every recorded point, in step order as metrics_service would see them.
RunCollapseDetectors Replay(const std::string& path) {
  RunCollapseDetectors detectors("recorded", CollapseDetectorsConfig());
  absl::StatusOr<std::vector<v1::Series>> history = jepalab::testing::LoadRecordedHistory(path);
  EXPECT_TRUE(history.ok()) << history.status();
  std::vector<std::tuple<int64_t, std::string, double>> points;
  if (history.ok()) {
    for (const v1::Series& series : *history) {
      for (const v1::SeriesPoint& point : series.points()) {
        points.emplace_back(point.step(), series.name(), point.value());
      }
    }
  }
  std::stable_sort(points.begin(), points.end());
  std::vector<v1::CollapseEvent> events;
  for (const auto& [step, name, value] : points) {
    detectors.Observe(name, step, value, 1000 + step, &events);
  }
  return detectors;
}

v1::CollapseState StateOf(const RunCollapseDetectors& detectors, const std::string& indicator,
                          const std::string& encoder) {
  for (const v1::DetectorStatus& status : detectors.Statuses()) {
    if (status.indicator() == indicator && status.encoder() == encoder) return status.state();
  }
  return v1::COLLAPSE_STATE_UNSPECIFIED;
}

TEST(RecordedHistoryDetectorsTest, TheRankDetectorFiresOnTheCollapsedRunOnly) {
  const RunCollapseDetectors collapsed =
      Replay("tests/testdata/histories/pretrain_a6000_mini_seed124.csv");
  bool found = false;
  for (const v1::DetectorStatus& status : collapsed.Statuses()) {
    if (status.indicator() != kIndicatorEmbeddingRank || status.encoder() != "context") continue;
    found = true;
    EXPECT_EQ(status.first_collapse_step(), 19);  // RankMe 1.91 < 2 at the first window
  }
  EXPECT_TRUE(found);

  const RunCollapseDetectors healthy =
      Replay("tests/testdata/histories/diag_no_vq_mini_seed124.csv");
  for (const v1::DetectorStatus& status : healthy.Statuses()) {
    EXPECT_EQ(status.first_collapse_step(), -1) << status.indicator() << "/" << status.encoder();
  }
  // RankMe 3.2-4.0: in the warning band [2, 4] for the context encoder, OK for the target.
  EXPECT_EQ(StateOf(healthy, kIndicatorEmbeddingRank, "target"), v1::COLLAPSE_STATE_OK);
}

// The isotropy detector's default rule (relative to the first window) stays quiet on both: the
// collapsed run's context participation ratio is already ~1.8 of 32 at its first window, so a
// quarter of it is below the floor of 1 and cannot be reached; the healthy target encoder falls
// to 0.42 of its early value (WARNING). The rank detector is what catches this collapse.
TEST(RecordedHistoryDetectorsTest, TheIsotropyDetectorCannotSeeACollapsePresentAtItsFirstWindow) {
  const RunCollapseDetectors collapsed =
      Replay("tests/testdata/histories/pretrain_a6000_mini_seed124.csv");
  EXPECT_NE(StateOf(collapsed, kIndicatorEmbeddingIsotropy, "context"),
            v1::COLLAPSE_STATE_COLLAPSED);
  const RunCollapseDetectors healthy =
      Replay("tests/testdata/histories/diag_no_vq_mini_seed124.csv");
  EXPECT_EQ(StateOf(healthy, kIndicatorEmbeddingIsotropy, "target"), v1::COLLAPSE_STATE_WARNING);
  EXPECT_NE(StateOf(healthy, kIndicatorEmbeddingIsotropy, "context"), v1::COLLAPSE_STATE_COLLAPSED);
}

}  // namespace
}  // namespace jepalab::metrics
