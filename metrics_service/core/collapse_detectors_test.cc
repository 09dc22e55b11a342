#include "metrics_service/core/collapse_detectors.h"

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/config/metrics_service_config.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {
namespace {

using config::v1::CollapseDetectorsConfig;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsOk;
using ::testing::SizeIs;
using ::testing::StatusIs;

// Feeds `values` at steps 0, step_size, 2*step_size, ... (unix_ms = 1000 + step).
std::vector<v1::CollapseEvent> Feed(RunCollapseDetectors& detectors, const std::string& name,
                                    const std::vector<double>& values, int64_t first_step = 0,
                                    int64_t step_size = 100) {
  std::vector<v1::CollapseEvent> events;
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t step = first_step + static_cast<int64_t>(i) * step_size;
    detectors.Observe(name, step, values[i], 1000 + step, &events);
  }
  return events;
}

v1::DetectorStatus StatusOf(const RunCollapseDetectors& detectors, const std::string& indicator,
                            const std::string& encoder = "") {
  for (const v1::DetectorStatus& status : detectors.Statuses()) {
    if (status.indicator() == indicator && status.encoder() == encoder) return status;
  }
  ADD_FAILURE() << "no detector " << indicator << "/" << encoder;
  return {};
}

std::vector<v1::CollapseState> States(const std::vector<v1::CollapseEvent>& events) {
  std::vector<v1::CollapseState> states;
  for (const auto& event : events) states.push_back(event.state());
  return states;
}

TEST(CollapseDetectorsConfigTest, InputsFollowTheConfiguredStats) {
  CollapseDetectorsConfig config;
  config.mutable_rank()->set_stat("effective_rank");
  const std::vector<std::string> inputs = CollapseDetectorInputs(config);
  EXPECT_THAT(inputs, ::testing::Contains("diagnostics/context/effective_rank"));
  EXPECT_THAT(inputs, ::testing::Contains("diagnostics/target/isotropy_robust"));
  EXPECT_THAT(inputs, ::testing::Contains("diagnostics/vq/usage_ratio"));
  EXPECT_THAT(inputs, ::testing::Contains("val/loss"));
  EXPECT_THAT(inputs, ::testing::Contains("grad_norm"));
}

TEST(RankDetectorTest, HealthyRankNeverTriggers) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  EXPECT_THAT(Feed(detectors, "diagnostics/context/rankme", {12, 11, 9, 8.5, 9, 7}), IsEmpty());
  const v1::DetectorStatus status = StatusOf(detectors, "embedding_rank", "context");
  EXPECT_EQ(status.state(), v1::COLLAPSE_STATE_OK);
  EXPECT_EQ(status.first_warning_step(), -1);
  EXPECT_EQ(status.first_collapse_step(), -1);
  EXPECT_EQ(status.last_step(), 500);
}

TEST(RankDetectorTest, CollapsingRankWarnsThenCollapsesAtTheFirstStepBelowTwo) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  const auto events = Feed(detectors, "diagnostics/target/rankme", {10, 6, 4.5, 3, 1.9, 1.2, 1.1});
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].state(), v1::COLLAPSE_STATE_WARNING);
  EXPECT_EQ(events[0].previous_state(), v1::COLLAPSE_STATE_OK);
  EXPECT_EQ(events[0].step(), 300);  // 3 < 4 = twice the collapse floor
  EXPECT_TRUE(events[0].first_trigger());
  EXPECT_EQ(events[1].state(), v1::COLLAPSE_STATE_COLLAPSED);
  EXPECT_EQ(events[1].step(), 400);
  EXPECT_EQ(events[1].unix_ms(), 1400);
  EXPECT_EQ(events[1].value(), 1.9);
  EXPECT_EQ(events[1].indicator(), "embedding_rank");
  EXPECT_EQ(events[1].encoder(), "target");
  EXPECT_EQ(events[1].run_id(), "r");
  EXPECT_THAT(events[1].reason(), HasSubstr("rankme 1.9 < 2"));
  const v1::DetectorStatus status = StatusOf(detectors, "embedding_rank", "target");
  EXPECT_EQ(status.state(), v1::COLLAPSE_STATE_COLLAPSED);
  EXPECT_EQ(status.first_warning_step(), 300);
  EXPECT_EQ(status.first_collapse_step(), 400);
  EXPECT_EQ(status.first_collapse_unix_ms(), 1400);
}

TEST(RankDetectorTest, RecoveryIsAnEventButTheFirstTriggerStepStays) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  const auto events = Feed(detectors, "diagnostics/context/rankme", {1.0, 6, 1.5});
  EXPECT_THAT(States(events), ElementsAre(v1::COLLAPSE_STATE_COLLAPSED, v1::COLLAPSE_STATE_OK,
                                          v1::COLLAPSE_STATE_COLLAPSED));
  EXPECT_TRUE(events[0].first_trigger());
  EXPECT_FALSE(events[2].first_trigger());
  EXPECT_EQ(events[0].previous_state(), v1::COLLAPSE_STATE_UNSPECIFIED);
  EXPECT_EQ(StatusOf(detectors, "embedding_rank", "context").first_collapse_step(), 0);
}

TEST(RankDetectorTest, ReadsOnlyTheConfiguredStat) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  // The reference effective rank is not read by default.
  EXPECT_THAT(Feed(detectors, "diagnostics/context/effective_rank", {1, 1}), IsEmpty());
  EXPECT_THAT(detectors.Statuses(), IsEmpty());

  CollapseDetectorsConfig config;
  config.mutable_rank()->set_stat("effective_rank");
  RunCollapseDetectors reference("r", config);
  EXPECT_THAT(Feed(reference, "diagnostics/context/effective_rank", {1}), SizeIs(1));
}

TEST(IsotropyDetectorTest, RobustIsotropyDrivesTheStateNotTheJitterDominatedOne) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  // A healthy run: reference isotropy ~1e-5 (would be "collapsed"), robust one healthy.
  EXPECT_THAT(Feed(detectors, "diagnostics/context/isotropy", {1e-5, 1.1e-5}), IsEmpty());
  EXPECT_THAT(Feed(detectors, "diagnostics/context/isotropy_robust", {0.2, 0.15}), IsEmpty());
  EXPECT_EQ(StatusOf(detectors, "embedding_isotropy", "context").state(), v1::COLLAPSE_STATE_OK);
}

// Default rule: relative to the encoder's first value, WARNING under half, COLLAPSED under a
// quarter (the participation ratio lost three quarters of its early effective dimensions).
TEST(IsotropyDetectorTest, CollapsesBelowAQuarterOfItsEarlyValue) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  const auto events =
      Feed(detectors, "diagnostics/context/isotropy_robust", {0.2, 0.15, 0.08, 0.04}, 1000, 1000);
  EXPECT_THAT(States(events),
              ElementsAre(v1::COLLAPSE_STATE_WARNING, v1::COLLAPSE_STATE_COLLAPSED));
  const v1::DetectorStatus status = StatusOf(detectors, "embedding_isotropy", "context");
  EXPECT_EQ(status.first_collapse_step(), 4000);
  EXPECT_THAT(events.back().reason(),
              HasSubstr("context isotropy_robust 0.04 = 0.2 x early 0.2 < 0.25"));
}

// At any d: the same loss of effective dimensions gives the same state (the ratio of
// participation ratios does not depend on d), where an absolute 1e-4 fired at no d <= 10000.
TEST(IsotropyDetectorTest, TheDefaultRuleIsTheSameAtEveryDimension) {
  for (double d : {32.0, 256.0, 4096.0}) {
    RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
    // 16 effective dimensions falling to 2.
    Feed(detectors, "diagnostics/target/isotropy_robust", {16 / d, 8 / d, 2 / d});
    EXPECT_EQ(StatusOf(detectors, "embedding_isotropy", "target").state(),
              v1::COLLAPSE_STATE_COLLAPSED)
        << d;
  }
}

TEST(IsotropyDetectorTest, AbsoluteBandWhenNotRelative) {
  CollapseDetectorsConfig config;
  config.mutable_isotropy()->set_relative_to_early(false);
  config.mutable_isotropy()->set_collapsed_below(0.05);
  config.mutable_isotropy()->set_healthy_above(0.1);
  RunCollapseDetectors detectors("r", config);
  const auto events = Feed(detectors, "diagnostics/context/isotropy_robust", {0.2, 0.07, 0.04});
  EXPECT_THAT(States(events),
              ElementsAre(v1::COLLAPSE_STATE_WARNING, v1::COLLAPSE_STATE_COLLAPSED));
}

TEST(CodebookUsageDetectorTest, SteadyUsageDoesNotTrigger) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  EXPECT_THAT(Feed(detectors, "diagnostics/vq/usage_ratio", {0.6, 0.7, 0.65, 0.7, 0.5}), IsEmpty());
}

TEST(CodebookUsageDetectorTest, FallingUsageWarnsBeforeLowUsageCollapses) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  // 0.8 -> 0.35 is still above warning_below (0.2) but under half the best (0.4).
  const auto events =
      Feed(detectors, "diagnostics/vq/usage_ratio", {0.8, 0.6, 0.35, 0.15, 0.04, 0.03});
  EXPECT_THAT(States(events),
              ElementsAre(v1::COLLAPSE_STATE_WARNING, v1::COLLAPSE_STATE_COLLAPSED));
  EXPECT_EQ(events[0].step(), 200);
  EXPECT_THAT(events[0].reason(), HasSubstr("fell below 0.5 of its best 0.8"));
  EXPECT_EQ(events[1].step(), 400);
  EXPECT_EQ(StatusOf(detectors, "codebook_usage").first_warning_step(), 200);
  EXPECT_EQ(StatusOf(detectors, "codebook_usage").first_collapse_step(), 400);
}

TEST(ValidationSpikeDetectorTest, NoisyButImprovingValidationDoesNotTrigger) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  EXPECT_THAT(Feed(detectors, "val/loss", {3.0, 2.5, 2.6, 2.2, 2.4, 2.0}), IsEmpty());
}

TEST(ValidationSpikeDetectorTest, SpikeRelativeToTheBestSoFar) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  // Best 2.0; 2.5 > 1.2 x 2.0 warns; 3.1 > 1.5 x 2.0 collapses; back to 2.1 is OK.
  const auto events = Feed(detectors, "val/loss", {3.0, 2.0, 2.5, 3.1, 2.1}, 1, 1);
  EXPECT_THAT(States(events), ElementsAre(v1::COLLAPSE_STATE_WARNING, v1::COLLAPSE_STATE_COLLAPSED,
                                          v1::COLLAPSE_STATE_OK));
  EXPECT_EQ(events[0].step(), 3);
  EXPECT_EQ(events[1].step(), 4);
  EXPECT_THAT(events[1].reason(), HasSubstr("best 2"));
}

TEST(LossPlateauDetectorTest, ImprovingLossDoesNotTrigger) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  std::vector<double> loss;
  for (int i = 0; i < 50; ++i) loss.push_back(5.0 * (1.0 - 0.015 * i));
  EXPECT_THAT(Feed(detectors, "loss/total", loss), IsEmpty());
}

TEST(LossPlateauDetectorTest, PlateauWarnsAfterTheWindow) {
  CollapseDetectorsConfig config;
  config.mutable_loss_plateau()->set_window_steps(1000);
  RunCollapseDetectors detectors("r", config);
  // Improves to 4.0 at step 200, then flat: warning at step 1200.
  const auto events = Feed(detectors, "loss/total",
                           {5, 4.5, 4.0, 4.0, 3.99, 4.01, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0});
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].state(), v1::COLLAPSE_STATE_WARNING);
  EXPECT_EQ(events[0].step(), 1200);
  EXPECT_THAT(events[0].reason(), HasSubstr("since step 200"));
}

TEST(LossPlateauDetectorTest, RiseCollapses) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  const auto events = Feed(detectors, "loss/total", {4, 3, 2, 3.5, 4.5});
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].state(), v1::COLLAPSE_STATE_COLLAPSED);
  EXPECT_EQ(events[0].step(), 400);
}

TEST(DivergenceDetectorTest, CeilingsAndStickiness) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  EXPECT_THAT(Feed(detectors, "grad_norm", {1, 10, 100}), IsEmpty());
  const auto events = Feed(detectors, "grad_norm", {2e4, 1}, 300);
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].indicator(), "divergence");
  EXPECT_EQ(events[0].step(), 300);
  EXPECT_EQ(StatusOf(detectors, "divergence").state(), v1::COLLAPSE_STATE_COLLAPSED);
}

TEST(DivergenceDetectorTest, DivergedRunStateCollapsesAtTheNewestStep) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  Feed(detectors, "loss/total", {3, 2.9, 2.8});
  std::vector<v1::CollapseEvent> events;
  detectors.ObserveRunState(common::v1::RUN_STATE_RUNNING, 5000, &events);
  EXPECT_THAT(events, IsEmpty());
  detectors.ObserveRunState(common::v1::RUN_STATE_DIVERGED, 5000, &events);
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].step(), 200);
  EXPECT_EQ(events[0].unix_ms(), 5000);
  EXPECT_THAT(events[0].reason(), HasSubstr("DIVERGED"));
  detectors.ObserveRunState(common::v1::RUN_STATE_DIVERGED, 6000, &events);
  EXPECT_THAT(events, SizeIs(1));  // once
}

TEST(RunCollapseDetectorsTest, ResentAndLatePointsAreIgnored) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  Feed(detectors, "diagnostics/context/rankme", {10, 9});
  // Step 100 again with a collapsed value (a retried batch with a different value) or an
  // older step: not re-evaluated.
  EXPECT_THAT(Feed(detectors, "diagnostics/context/rankme", {1}, 100), IsEmpty());
  EXPECT_THAT(Feed(detectors, "diagnostics/context/rankme", {1}, 50), IsEmpty());
  EXPECT_EQ(StatusOf(detectors, "embedding_rank", "context").state(), v1::COLLAPSE_STATE_OK);
}

TEST(RunCollapseDetectorsTest, StatusesAreSortedAndOnlyForSeenIndicators) {
  RunCollapseDetectors detectors("r", CollapseDetectorsConfig());
  Feed(detectors, "val/loss", {1});
  Feed(detectors, "diagnostics/target/rankme", {8});
  Feed(detectors, "diagnostics/context/rankme", {8});
  Feed(detectors, "train/loss", {1});  // read by no detector
  std::vector<std::string> keys;
  for (const auto& status : detectors.Statuses()) {
    keys.push_back(status.indicator() + "/" + status.encoder());
  }
  EXPECT_THAT(keys,
              ElementsAre("embedding_rank/context", "embedding_rank/target", "validation_spike/"));
}

}  // namespace
}  // namespace jepalab::metrics
