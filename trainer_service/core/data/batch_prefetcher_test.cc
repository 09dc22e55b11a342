#include "trainer_service/core/data/batch_prefetcher.h"

#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

TEST(BatchPrefetcherTest, YieldsEveryBatchInOrder) {
  std::vector<Task> tasks(5);
  for (int i = 0; i < 5; ++i) {
    tasks[i].input = Grid(1, 1, i);
    tasks[i].output = Grid(1, 1, i + 1);
  }
  BatchPrefetcher prefetcher(&tasks, {{0, 1}, {2, 3}, {4}}, /*context_window=*/2, /*depth=*/1);
  JepaBatch batch;
  std::vector<int64_t> firsts;
  while (prefetcher.Next(&batch)) firsts.push_back(batch.target.colors[0]);
  EXPECT_EQ(firsts, (std::vector<int64_t>{1, 3, 5}));
  EXPECT_FALSE(prefetcher.Next(&batch));
}

TEST(BatchPrefetcherTest, StopsEarlyWithoutHanging) {
  std::vector<Task> tasks(1);
  tasks[0].input = Grid(1, 1, 0);
  tasks[0].output = Grid(1, 1, 1);
  BatchPrefetcher prefetcher(&tasks, std::vector<std::vector<int64_t>>(50, {0}), 3, 2);
  JepaBatch batch;
  EXPECT_TRUE(prefetcher.Next(&batch));
}  // destructor stops the producer mid-way

}  // namespace
}  // namespace jepalab::trainer
