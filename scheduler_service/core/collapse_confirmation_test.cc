#include "scheduler_service/core/collapse_confirmation.h"

#include "gtest/gtest.h"
#include "scheduler_service/core/testing/fake_metrics_client.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::scheduler::testing::MakeCollapsedEvent;

v1::StopOnCollapsePolicy Policy(std::vector<std::string> indicators, int confirm_events) {
  v1::StopOnCollapsePolicy policy;
  policy.set_enabled(true);
  for (const std::string& indicator : indicators) policy.add_indicators(indicator);
  policy.set_confirm_events(confirm_events);
  return policy;
}

TEST(CollapseConfirmationTest, OneEventConfirmsByDefault) {
  CollapseConfirmation confirmation("r1", Policy({}, 0));
  EXPECT_TRUE(confirmation.Add(MakeCollapsedEvent("r1", "embedding_rank", "context", 300)));
  EXPECT_EQ(confirmation.first_step(), 300);
  EXPECT_EQ(confirmation.first_detector(), "embedding_rank/context");
}

TEST(CollapseConfirmationTest, CountsDistinctEventsOfTheChosenDetectorsOfThisRun) {
  CollapseConfirmation confirmation("r1", Policy({"codebook_usage", "embedding_rank/target"}, 2));
  EXPECT_FALSE(confirmation.Add(MakeCollapsedEvent("r1", "embedding_rank", "context", 50)));
  EXPECT_FALSE(confirmation.Add(MakeCollapsedEvent("r2", "codebook_usage", "", 60)));
  auto warning = MakeCollapsedEvent("r1", "codebook_usage", "", 70);
  warning.set_state(::jepalab::metrics::v1::COLLAPSE_STATE_WARNING);
  EXPECT_FALSE(confirmation.Add(warning));
  EXPECT_FALSE(confirmation.Add(MakeCollapsedEvent("r1", "codebook_usage", "", 100)));
  EXPECT_FALSE(confirmation.Add(MakeCollapsedEvent("r1", "codebook_usage", "", 100)));  // repeat
  EXPECT_TRUE(confirmation.Add(MakeCollapsedEvent("r1", "embedding_rank", "target", 140)));
  EXPECT_EQ(confirmation.first_step(), 100);
  EXPECT_EQ(confirmation.first_detector(), "codebook_usage");
}

}  // namespace
}  // namespace jepalab::scheduler
