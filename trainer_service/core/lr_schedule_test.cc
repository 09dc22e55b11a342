#include "trainer_service/core/lr_schedule.h"

#include <cmath>

#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

TEST(LrScaleTest, WarmupThenCosineWithFloor) {
  const LrScheduleOptions o{"cosine", /*warmup_steps=*/10, /*total_steps=*/110,
                            /*min_lr_scale=*/0.1};
  EXPECT_DOUBLE_EQ(LrScale(o, 0), 0.1);  // (0+1)/10
  EXPECT_DOUBLE_EQ(LrScale(o, 4), 0.5);
  EXPECT_DOUBLE_EQ(LrScale(o, 9), 1.0);
  EXPECT_DOUBLE_EQ(LrScale(o, 10), 1.0);    // p = 0
  EXPECT_NEAR(LrScale(o, 60), 0.5, 1e-12);  // p = 0.5
  EXPECT_NEAR(LrScale(o, 35), 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
  EXPECT_DOUBLE_EQ(LrScale(o, 100), 0.1);  // floored near the end
  EXPECT_DOUBLE_EQ(LrScale(o, 500), 0.1);  // p capped at 1
}

TEST(LrScaleTest, WarmupIsNotFloored) {
  const LrScheduleOptions o{"cosine", 100, 200, 0.5};
  EXPECT_DOUBLE_EQ(LrScale(o, 0), 0.01);
}

TEST(LrScaleTest, LinearAndConstant) {
  const LrScheduleOptions linear{"linear", 0, 100, 0.2};
  EXPECT_DOUBLE_EQ(LrScale(linear, 0), 1.0);
  EXPECT_DOUBLE_EQ(LrScale(linear, 25), 0.75);
  EXPECT_DOUBLE_EQ(LrScale(linear, 90), 0.2);
  const LrScheduleOptions constant{"constant", 2, 100, 0.2};
  EXPECT_DOUBLE_EQ(LrScale(constant, 0), 0.5);
  EXPECT_DOUBLE_EQ(LrScale(constant, 99), 1.0);
}

}  // namespace
}  // namespace jepalab::trainer
