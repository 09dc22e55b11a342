#include "scheduler_service/core/run_queue.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Drain(RunQueue& queue) {
  std::vector<std::string> order;
  while (auto run = queue.Pop()) order.push_back(*run);
  return order;
}

TEST(RunQueueTest, FirstInFirstOutWithinAGroup) {
  RunQueue queue;
  queue.Push("a1", 0, "a");
  queue.Push("a2", 0, "a");
  queue.Push("a3", 0, "a");
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_THAT(Drain(queue), ElementsAre("a1", "a2", "a3"));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.Pop(), std::nullopt);
}

TEST(RunQueueTest, GroupsOfOnePriorityTakeTurns) {
  RunQueue queue;
  for (int i = 1; i <= 4; ++i) queue.Push("sweep" + std::to_string(i), 0, "sweep");
  queue.Push("exp1", 0, "exp");  // submitted after the whole sweep
  queue.Push("exp2", 0, "exp");
  EXPECT_THAT(Drain(queue), ElementsAre("sweep1", "exp1", "sweep2", "exp2", "sweep3", "sweep4"));
}

TEST(RunQueueTest, HigherPriorityFirstWhateverTheOrderOfSubmission) {
  RunQueue queue;
  queue.Push("low1", 0, "low");
  queue.Push("low2", 0, "low");
  queue.Push("urgent", 10, "urgent");
  queue.Push("later", -5, "later");
  EXPECT_THAT(Drain(queue), ElementsAre("urgent", "low1", "low2", "later"));
}

TEST(RunQueueTest, PushFrontKeepsARefusedRunsPlace) {
  RunQueue queue;
  queue.Push("a1", 0, "a");
  queue.Push("a2", 0, "a");
  queue.Push("b1", 0, "b");
  EXPECT_EQ(queue.Pop(), "a1");  // offered, no trainer took it
  queue.PushFront("a1", 0, "a");
  EXPECT_THAT(Drain(queue), ElementsAre("a1", "b1", "a2"));
}

TEST(RunQueueTest, RemoveTakesARunOutAndDuplicatesAreIgnored) {
  RunQueue queue;
  queue.Push("a1", 0, "a");
  queue.Push("a1", 0, "a");
  queue.Push("b1", 3, "b");
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_TRUE(queue.Remove("b1"));
  EXPECT_FALSE(queue.Remove("b1"));
  EXPECT_FALSE(queue.Remove("nope"));
  EXPECT_THAT(Drain(queue), ElementsAre("a1"));
}

}  // namespace
}  // namespace jepalab::scheduler
