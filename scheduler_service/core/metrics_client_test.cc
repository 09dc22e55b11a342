#include "scheduler_service/core/metrics_client.h"

#include <vector>

#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::metrics::v1::DetectorStatus;

DetectorStatus Detector(const std::string& indicator, const std::string& encoder, int64_t step) {
  DetectorStatus detector;
  detector.set_indicator(indicator);
  detector.set_encoder(encoder);
  detector.set_first_collapse_step(step);
  return detector;
}

TEST(SummarizeCollapseTest, NoCollapseIsMinusOne) {
  const CollapseSummary summary =
      SummarizeCollapse({Detector("codebook_usage", "", -1), Detector("divergence", "", -1)});
  EXPECT_EQ(summary.first_collapse_step, -1);
  EXPECT_EQ(summary.indicator, "");
}

TEST(SummarizeCollapseTest, PicksTheEarliestCollapseWithItsEncoder) {
  const CollapseSummary summary = SummarizeCollapse(
      {Detector("codebook_usage", "", 900), Detector("embedding_rank", "context", 400),
       Detector("embedding_rank", "target", 400), Detector("loss_plateau", "", -1)});
  EXPECT_EQ(summary.first_collapse_step, 400);
  EXPECT_EQ(summary.indicator, "embedding_rank/context");
}

}  // namespace
}  // namespace jepalab::scheduler
