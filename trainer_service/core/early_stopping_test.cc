#include "trainer_service/core/early_stopping.h"

#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

TEST(EarlyStoppingTest, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping es(/*enabled=*/true, /*patience=*/2, /*min_delta=*/0.1, "min");
  EXPECT_TRUE(es.Update(5.0));
  EXPECT_FALSE(es.Update(4.95));  // not better by more than min_delta
  EXPECT_FALSE(es.ShouldStop());
  EXPECT_TRUE(es.Update(4.8));
  EXPECT_EQ(es.wait(), 0);
  EXPECT_FALSE(es.Update(4.9));
  EXPECT_FALSE(es.Update(4.75));
  EXPECT_TRUE(es.ShouldStop());
  EXPECT_DOUBLE_EQ(*es.best(), 4.8);
}

TEST(EarlyStoppingTest, DisabledTracksBestButNeverStops) {
  EarlyStopping es(/*enabled=*/false, 1, 0.0, "max");
  es.Update(1.0);
  es.Update(0.5);
  es.Update(0.4);
  EXPECT_FALSE(es.ShouldStop());
  EXPECT_DOUBLE_EQ(*es.best(), 1.0);
}

}  // namespace
}  // namespace jepalab::trainer
