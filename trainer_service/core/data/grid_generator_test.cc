#include "trainer_service/core/data/grid_generator.h"

#include <map>
#include <set>
#include <string>

#include "common/testing/shared_data.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "trainer_service/core/data/grid_json.h"

namespace jepalab::trainer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

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
  for (size_t i = 0; i < std::min(a->size(), c->size()); ++i)
    same += (*a)[i].input == (*c)[i].input;
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

TEST(GridGeneratorTest, DeterministicForEveryThreadCount) {
  auto config = SmallConfig();
  config.set_num_atomic(300);
  config.set_num_sequential(200);
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<Task> serial, GenerateTasks(config, 1));
  for (int threads : {2, 3, 8}) {
    JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<Task> parallel, GenerateTasks(config, threads));
    ASSERT_EQ(parallel.size(), serial.size()) << threads << " threads";
    for (size_t i = 0; i < serial.size(); ++i) {
      EXPECT_EQ(parallel[i].id, serial[i].id);
      EXPECT_EQ(parallel[i].input, serial[i].input);
      EXPECT_EQ(parallel[i].output, serial[i].output);
      ASSERT_EQ(parallel[i].program.size(), serial[i].program.size());
      for (size_t j = 0; j < serial[i].program.size(); ++j) {
        EXPECT_EQ(parallel[i].program[j].name, serial[i].program[j].name);
        EXPECT_EQ(parallel[i].program[j].params, serial[i].program[j].params);
      }
    }
  }
  // Task i is a pure function of (config, i).
  const std::optional<Task> task = GenerateTask(config, 7);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->input, serial[7].input);
}

TEST(GridGeneratorTest, ProgramReplaysToTheOutput) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<Task> tasks, GenerateTasks(SmallConfig()));
  for (const Task& t : tasks) {
    Grid current = t.input;
    for (const PrimitiveCall& call : t.program) {
      JEPALAB_ASSERT_OK_AND_ASSIGN(Grid next, ApplyPrimitive(call.name, current, call.params));
      EXPECT_NE(next, current) << t.id << " " << call.name << " " << call.ParamsString();
      current = std::move(next);
    }
    EXPECT_EQ(current, t.output) << t.id;
  }
}

TEST(GridGeneratorTest, SamplingFollowsTheReferenceRules) {
  auto config = SmallConfig();
  config.set_num_atomic(2000);
  config.set_num_sequential(0);
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<Task> tasks, GenerateTasks(config, 4));
  std::map<std::string, int> counts;
  for (const Task& t : tasks) {
    const PrimitiveCall& call = t.program[0];
    ++counts[call.name];
    std::map<std::string, int> p(call.params.begin(), call.params.end());
    const std::set<int> palette(t.palette.begin(), t.palette.end());
    if (call.name == "rotate90") {
      EXPECT_GE(p["k"], 1);
      EXPECT_LE(p["k"], 3);
    } else if (call.name == "translate") {
      EXPECT_LE(std::abs(p["dx"]), std::max(1, t.input.width / 2));
      EXPECT_LE(std::abs(p["dy"]), std::max(1, t.input.height / 2));
      EXPECT_TRUE(palette.count(p["fill"]));
    } else if (call.name == "recolor") {
      EXPECT_NE(p["source"], 0);  // foreground only
      EXPECT_NE(p["source"], p["target"]);
      EXPECT_TRUE(palette.count(p["target"]));
    } else if (call.name == "merge_touching") {
      EXPECT_NE(p["value_a"], 0);
      EXPECT_NE(p["value_a"], p["value_b"]);
    } else if (call.name == "threshold_gt") {
      EXPECT_GE(p["threshold"], *palette.begin());
      EXPECT_LE(p["threshold"], *palette.rbegin());
    }
  }
  // Drawn uniformly: each of the 10 primitives is tried ~10% of the time; no-op-prone ones
  // (recolor of an absent colour, ...) are still accepted often.
  EXPECT_EQ(counts.size(), 10u);
  for (const auto& [name, count] : counts) EXPECT_GT(count, 60) << name;
}

TEST(GridGeneratorTest, ValidatesConfig) {
  auto config = SmallConfig();
  config.set_max_grid_size(2);
  EXPECT_THAT(GenerateTasks(config).status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                                       HasSubstr("data.generator.max_grid_size")));
  config = SmallConfig();
  config.set_fill_probability(1.5);
  EXPECT_THAT(
      ValidateGeneratorConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data.generator.fill_probability")));
  config = SmallConfig();
  config.set_min_colors(0);
  EXPECT_THAT(ValidateGeneratorConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data.generator.min_colors")));
  config = SmallConfig();
  config.set_max_task_retries(0);
  EXPECT_THAT(
      ValidateGeneratorConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data.generator.max_task_retries")));
}

TEST(ApplyPrimitiveTest, ParameterErrors) {
  const Grid g(2, 2, 1);
  EXPECT_THAT(ApplyPrimitive("scale", g, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown primitive 'scale'")));
  EXPECT_THAT(
      ApplyPrimitive("recolor", g, {{"source", 1}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing parameter 'target'")));
  EXPECT_THAT(ApplyPrimitive("mirror_x", g, {{"k", 1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown parameter 'k'")));
  EXPECT_THAT(ApplyPrimitive("flood_fill", g, {{"y", 0}, {"x", -1}, {"fill", 2}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside the 2x2 grid")));
}

// ---- Golden vectors: ../shared/reference/golden/primitives.json, one test per case.

constexpr int kNumPrimitiveCases = 42;

absl::StatusOr<nlohmann::json> LoadPrimitivesGolden(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileLimited(path, 16 << 20);
  if (!text.ok()) return text.status();
  return ParseJson(*text, path);
}

TEST(PrimitivesGoldenTest, RegistryOrderAndCaseCount) {
  JEPALAB_SHARED_PATH_OR_SKIP(path, "reference/golden/primitives.json");
  JEPALAB_ASSERT_OK_AND_ASSIGN(const nlohmann::json golden, LoadPrimitivesGolden(path));
  EXPECT_EQ(golden.at("registry_order").get<std::vector<std::string>>(), PrimitiveNames());
  EXPECT_EQ(golden.at("cases").size(), static_cast<size_t>(kNumPrimitiveCases));
}

class PrimitivesGoldenCaseTest : public ::testing::TestWithParam<int> {};

TEST_P(PrimitivesGoldenCaseTest, MatchesPython) {
  JEPALAB_SHARED_PATH_OR_SKIP(path, "reference/golden/primitives.json");
  JEPALAB_ASSERT_OK_AND_ASSIGN(const nlohmann::json golden, LoadPrimitivesGolden(path));
  ASSERT_LT(GetParam(), static_cast<int>(golden.at("cases").size()));
  const nlohmann::json& c = golden.at("cases").at(GetParam());
  const std::string primitive = c.at("primitive").get<std::string>();
  SCOPED_TRACE(::testing::Message() << "case " << GetParam() << ": " << primitive << " on "
                                    << c.at("grid") << " with " << c.at("params"));
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      const Grid input,
      GridFromJson(golden.at("input_grids").at(c.at("grid").get<std::string>()), "grid", 9));
  PrimitiveParams params;
  for (const auto& [key, value] : c.at("params").items())
    params.emplace_back(key, value.get<int>());
  const absl::StatusOr<Grid> output = ApplyPrimitive(primitive, input, params);
  if (c.contains("error")) {
    EXPECT_THAT(output.status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside")))
        << "Python raised " << c.at("error");
    return;
  }
  ASSERT_THAT(output, ::testing::IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(const Grid expected, GridFromJson(c.at("output"), "output", 99));
  EXPECT_EQ(output->height, c.at("output_shape")[0].get<int>());
  EXPECT_EQ(output->width, c.at("output_shape")[1].get<int>());
  EXPECT_EQ(output->cells, expected.cells);
  EXPECT_EQ(*output == input, c.at("unchanged").get<bool>());
}

INSTANTIATE_TEST_SUITE_P(AllCases, PrimitivesGoldenCaseTest,
                         ::testing::Range(0, kNumPrimitiveCases));

}  // namespace
}  // namespace jepalab::trainer
