#include "trainer_service/core/data/task_dataset.h"

#include <set>

#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

TEST(SplitSamplesTest, SizesDisjointAndSeeded) {
  const DatasetSplit s = SplitSamples(2000, 0.05, 13);
  EXPECT_EQ(s.validation.size(), 100u);
  EXPECT_EQ(s.train.size(), 1900u);
  std::set<int64_t> all(s.train.begin(), s.train.end());
  all.insert(s.validation.begin(), s.validation.end());
  EXPECT_EQ(all.size(), 2000u);
  EXPECT_EQ(SplitSamples(2000, 0.05, 13).validation, s.validation);
  EXPECT_NE(SplitSamples(2000, 0.05, 14).validation, s.validation);
  EXPECT_EQ(SplitSamples(10, 0.0, 1).validation.size(), 1u);          // max(1, round(n * split))
  EXPECT_EQ(SplitSamples(50, 0.05, 1).validation.size(), 2u);         // Python round(2.5) == 2
  EXPECT_EQ(SplitSamples(70, 0.05, 1).validation.size(), 4u);         // round(3.5) == 4
  EXPECT_EQ(SplitSamples(50000, 0.02, 13).validation.size(), 1000u);  // the pilot's 1,000 val
}

TEST(SplitSamplesTest, PermutationIsPinned) {
  // The documented permutation: Fisher-Yates with TaskRng(MixSeed(seed, 0)); changing it would
  // silently change every run's validation set.
  const DatasetSplit a = SplitSamples(10, 0.3, 13);
  const DatasetSplit b = SplitSamples(10, 0.3, 13);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_EQ(a.validation, (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(a.train, (std::vector<int64_t>{0, 1, 2, 3, 4, 8, 9}));
  EXPECT_EQ(SplitSamples(10, 0.3, 14).validation, (std::vector<int64_t>{5, 1, 3}));
}

TEST(EpochBatchesTest, ShuffledPerEpochAndDropLast) {
  std::vector<int64_t> idx(10);
  for (int i = 0; i < 10; ++i) idx[i] = i;
  const auto e1 = EpochBatches(idx, 4, /*shuffle=*/true, /*drop_last=*/true, 5, 1);
  ASSERT_EQ(e1.size(), 2u);
  EXPECT_EQ(e1[0].size(), 4u);
  EXPECT_EQ(EpochBatches(idx, 4, true, true, 5, 1), e1);
  EXPECT_NE(EpochBatches(idx, 4, true, true, 5, 2), e1);
  const auto keep = EpochBatches(idx, 4, /*shuffle=*/false, /*drop_last=*/false, 5, 1);
  ASSERT_EQ(keep.size(), 3u);
  EXPECT_EQ(keep[2], (std::vector<int64_t>{8, 9}));
  // Fewer samples than a batch: one short batch rather than none.
  EXPECT_EQ(EpochBatches({1, 2}, 4, false, true, 0, 1).size(), 1u);
}

}  // namespace
}  // namespace jepalab::trainer
