#include "trainer_service/core/data/grid_generator.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

using ::testing::ElementsAre;

config::v1::GeneratorConfig SmallConfig() {
  config::v1::GeneratorConfig config;
  config.set_seed(7);
  config.set_num_atomic(60);
  config.set_num_sequential(40);
  config.set_min_grid_size(3);
  config.set_max_grid_size(8);
  config.set_min_colors(3);
  config.set_max_colors(5);
  return config;
}

TEST(TaskRngTest, UniformIntIsFixedAlgorithmAndInRange) {
  TaskRng a(42), b(42);
  std::set<int64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = a.UniformInt(-2, 3);
    EXPECT_EQ(v, b.UniformInt(-2, 3));
    EXPECT_GE(v, -2);
    EXPECT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 6u);
  // Pinned values: the same seed must give these numbers with every standard library.
  TaskRng c(123);
  std::vector<int64_t> first;
  for (int i = 0; i < 5; ++i) first.push_back(c.UniformInt(0, 9));
  std::mt19937_64 engine(123);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(first[i], static_cast<int64_t>(engine() % 10));
}

TEST(GridPrimitivesTest, GeometryAndColour) {
  Grid g(2, 3, 0);
  g.cells = {1, 2, 3, 4, 5, 6};
  EXPECT_THAT(MirrorX(g).cells, ElementsAre(4, 5, 6, 1, 2, 3));
  EXPECT_THAT(MirrorY(g).cells, ElementsAre(3, 2, 1, 6, 5, 4));
  const Grid r = Rotate90(g, 1);  // clockwise
  EXPECT_EQ(r.height, 3);
  EXPECT_EQ(r.width, 2);
  EXPECT_THAT(r.cells, ElementsAre(4, 1, 5, 2, 6, 3));
  EXPECT_EQ(Rotate90(g, 4), g);
  EXPECT_THAT(Translate(g, 1, 0, 9).cells, ElementsAre(9, 1, 2, 9, 4, 5));
  EXPECT_THAT(Translate(g, 0, -1, 0).cells, ElementsAre(4, 5, 6, 0, 0, 0));
  EXPECT_THAT(Recolor(g, 2, 7).cells, ElementsAre(1, 7, 3, 4, 5, 6));
  EXPECT_THAT(InvertPalette(g).cells, ElementsAre(6, 5, 4, 3, 2, 1));
}

TEST(GridGeneratorTest, SameSeedSameTasks) {
  auto a = GenerateTasks(SmallConfig());
  auto b = GenerateTasks(SmallConfig());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].id, (*b)[i].id);
    EXPECT_EQ((*a)[i].input, (*b)[i].input);
    EXPECT_EQ((*a)[i].output, (*b)[i].output);
  }
  config::v1::GeneratorConfig other = SmallConfig();
  other.set_seed(8);
  auto c = GenerateTasks(other);
  ASSERT_TRUE(c.ok());
  int same = 0;
  for (size_t i = 0; i < std::min(a->size(), c->size()); ++i) same += (*a)[i].input == (*c)[i].input;
  EXPECT_LT(same, 5);
}

TEST(GridGeneratorTest, ShapesColoursProgramsAndNoOps) {
  const auto config = SmallConfig();
  auto tasks = GenerateTasks(config);
  ASSERT_TRUE(tasks.ok());
  EXPECT_GE(tasks->size(), 95u);  // a rare task may exhaust its retries
  EXPECT_EQ(tasks->front().id, "atomic_000000");
  EXPECT_EQ(tasks->back().id.rfind("sequential_", 0), 0u);
  std::set<std::string> primitives;
  for (const Task& t : *tasks) {
    EXPECT_GE(t.input.height, 3);
    EXPECT_LE(t.input.height, 8);
    EXPECT_GE(t.input.width, 3);
    EXPECT_LE(t.input.width, 8);
    EXPECT_EQ(t.input.cells.size(), static_cast<size_t>(t.input.height * t.input.width));
    EXPECT_EQ(t.output.cells.size(), static_cast<size_t>(t.output.height * t.output.width));
    EXPECT_NE(t.input, t.output) << t.id;
    EXPECT_GE(t.palette.size(), 3u);
    EXPECT_LE(t.palette.size(), 5u);
    EXPECT_EQ(t.palette[0], 0);
    for (int c : t.input.cells) {
      EXPECT_GE(c, 0);
      EXPECT_LT(c, static_cast<int>(t.palette.size()));  // foreground ids are 1..c-1
    }
    for (int c : t.output.cells) {
      EXPECT_GE(c, 0);
      EXPECT_LT(c, static_cast<int>(t.palette.size()));
    }
    if (t.id.rfind("atomic", 0) == 0) {
      EXPECT_EQ(t.program.size(), 1u);
    } else {
      EXPECT_GE(t.program.size(), 2u);
      EXPECT_LE(t.program.size(), 3u);
    }
    for (const auto& call : t.program) primitives.insert(call.name);
  }
  EXPECT_EQ(primitives.size(), PrimitiveNames().size());
  EXPECT_EQ(PrimitiveNames().size(), 10u);
}

TEST(GridGeneratorTest, RejectsEmptyConfig) {
  auto config = SmallConfig();
  config.set_num_atomic(0);
  config.set_num_sequential(0);
  EXPECT_FALSE(GenerateTasks(config).ok());
}

}  // namespace
}  // namespace jepalab::trainer
