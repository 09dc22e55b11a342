#include "trainer_service/core/data/grid_batch.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

using ::testing::ElementsAre;

TEST(GridBatchTest, PadsToBatchMaxWithMaskAndNormalisedCoords) {
  Grid a(2, 2, 0);
  a.cells = {1, 2, 3, 40};  // 40 is clamped to the embedding range
  Grid b(1, 3, 5);
  const PaddedGrids p = PadGrids({&a, &b});
  EXPECT_EQ(p.count, 2);
  EXPECT_EQ(p.height, 2);
  EXPECT_EQ(p.width, 3);
  EXPECT_THAT(p.colors, ElementsAre(1, 2, 0, 3, kNumColorIds - 1, 0, 5, 5, 5, 0, 0, 0));
  EXPECT_THAT(p.mask, ElementsAre(1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0));
  // Grid a, cell (1, 1): (y, x) = (1, 1) / (2 - 1).
  EXPECT_FLOAT_EQ(p.coords[2 * 4], 1.0f);
  EXPECT_FLOAT_EQ(p.coords[2 * 4 + 1], 1.0f);
  // Grid b, cell (0, 1): x = 1 / (3 - 1); y = 0 (one row).
  EXPECT_FLOAT_EQ(p.coords[2 * 7], 0.0f);
  EXPECT_FLOAT_EQ(p.coords[2 * 7 + 1], 0.5f);
}

TEST(GridBatchTest, JepaBatchRepeatsInputAsContext) {
  std::vector<Task> tasks(2);
  tasks[0].input = Grid(2, 2, 1);
  tasks[0].output = Grid(2, 2, 2);
  tasks[1].input = Grid(3, 3, 3);
  tasks[1].output = Grid(1, 1, 4);
  const JepaBatch batch = MakeJepaBatch(tasks, {1, 0}, /*context_window=*/3);
  EXPECT_EQ(batch.size, 2);
  EXPECT_EQ(batch.context.count, 6);
  EXPECT_EQ(batch.target.count, 2);
  EXPECT_EQ(batch.context.colors[0], 3);                 // sample 0 = task 1
  EXPECT_EQ(batch.context.colors[3 * 9], 1);             // sample 1's first context grid
  EXPECT_EQ(batch.target.colors[0], 4);
  EXPECT_EQ(batch.target.height, 2);
}

}  // namespace
}  // namespace jepalab::trainer
