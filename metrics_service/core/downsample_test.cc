#include "metrics_service/core/downsample.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::metrics {
namespace {

std::vector<v1::SeriesPoint> Series(int n) {
  std::vector<v1::SeriesPoint> points;
  for (int i = 0; i < n; ++i) {
    v1::SeriesPoint p;
    p.set_step(i * 10);
    p.set_epoch(i / 4);
    p.set_value(i);
    p.set_unix_ms(1000 + i);
    points.push_back(p);
  }
  return points;
}

TEST(DownsampleTest, SmallSeriesIsUnchanged) {
  EXPECT_EQ(DownsampleByBucketMean(Series(5), 5).size(), 5u);
  EXPECT_EQ(DownsampleByBucketMean(Series(5), 0).size(), 5u);
  EXPECT_EQ(DownsampleByBucketMean(Series(5), 100).size(), 5u);
}

TEST(DownsampleTest, EqualBucketsTakeMeanAndLastStep) {
  std::vector<v1::SeriesPoint> out = DownsampleByBucketMean(Series(10), 5);
  ASSERT_EQ(out.size(), 5u);
  // Buckets {0,1} {2,3} {4,5} {6,7} {8,9}.
  EXPECT_DOUBLE_EQ(out[0].value(), 0.5);
  EXPECT_EQ(out[0].step(), 10);
  EXPECT_EQ(out[0].unix_ms(), 1001);
  EXPECT_DOUBLE_EQ(out[4].value(), 8.5);
  EXPECT_EQ(out[4].step(), 90);
  EXPECT_EQ(out[4].epoch(), 2);
}

TEST(DownsampleTest, UnevenBucketsCoverEveryPointOnce) {
  std::vector<v1::SeriesPoint> out = DownsampleByBucketMean(Series(7), 3);
  ASSERT_EQ(out.size(), 3u);
  // n=7, m=3: buckets [0,2) [2,4) [4,7).
  EXPECT_DOUBLE_EQ(out[0].value(), 0.5);
  EXPECT_DOUBLE_EQ(out[1].value(), 2.5);
  EXPECT_DOUBLE_EQ(out[2].value(), 5.0);
  EXPECT_EQ(out[2].step(), 60);  // the series' last step survives
}

TEST(DownsampleTest, OnePointIsTheOverallMean) {
  std::vector<v1::SeriesPoint> out = DownsampleByBucketMean(Series(4), 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0].value(), 1.5);
  EXPECT_EQ(out[0].step(), 30);
}

}  // namespace
}  // namespace jepalab::metrics
