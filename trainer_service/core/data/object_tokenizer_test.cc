#include "trainer_service/core/data/object_tokenizer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

Grid MakeGrid(const std::vector<std::vector<int>>& rows) {
  Grid g(static_cast<int>(rows.size()), static_cast<int>(rows[0].size()), 0);
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x) g.at(y, x) = rows[y][x];
  return g;
}

ObjectTokenizer MakeTokenizer(const ObjectTokenizerOptions& options) {
  absl::StatusOr<ObjectTokenizer> tokenizer = ObjectTokenizer::Create(options);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return *std::move(tokenizer);
}

// Reference §2 golden example, computed by hand.
TEST(ObjectTokenizerTest, ReferenceHandExample) {
  ObjectTokenizerOptions options;
  options.max_objects = 4;
  options.max_color_features = 2;
  ObjectTokenizer tokenizer = MakeTokenizer(options);
  const TokenizedGrid t = tokenizer.Tokenize(MakeGrid({{0, 1, 1}, {0, 0, 2}, {0, 0, 2}}));
  EXPECT_EQ(t.feature_dim, 15);
  EXPECT_THAT(t.mask, ElementsAre(1, 1, 0, 0));
  EXPECT_EQ(t.num_objects, 2);
  EXPECT_FLOAT_EQ(t.feature(0, kArea), 2.0f / 9);
  EXPECT_FLOAT_EQ(t.feature(0, kPerimeter), 6.0f / 9);
  EXPECT_FLOAT_EQ(t.feature(0, kColorCount), 1.0f);
  EXPECT_FLOAT_EQ(t.feature(0, kDominantColor), 1.0f);
  EXPECT_FLOAT_EQ(t.feature(0, kHistogramStart), 2.0f / 9);
  EXPECT_FLOAT_EQ(t.feature(0, kHistogramStart + 1), 0.0f);
  EXPECT_FLOAT_EQ(t.feature(1, kArea), 2.0f / 9);
  EXPECT_FLOAT_EQ(t.feature(1, kDominantColor), 2.0f);
  EXPECT_EQ(t.adjacent(0, 1), 1.0f);
  EXPECT_EQ(t.adjacent(1, 0), 1.0f);
  EXPECT_EQ(t.adjacent(2, 0), 0.0f);
  EXPECT_EQ(t.adjacent(0, 0), 0.0f);

  options.respect_colors = false;
  options.max_objects = 2;
  ObjectTokenizer merged = MakeTokenizer(options);
  const TokenizedGrid m = merged.Tokenize(MakeGrid({{0, 1, 1}, {0, 0, 2}, {0, 0, 2}}));
  EXPECT_THAT(m.mask, ElementsAre(1, 0));
  EXPECT_FLOAT_EQ(m.feature(0, kArea), 4.0f / 9);
  EXPECT_FLOAT_EQ(m.feature(0, kColorCount), 2.0f);
  EXPECT_FLOAT_EQ(m.feature(0, kHistogramStart), 2.0f / 9);
  EXPECT_FLOAT_EQ(m.feature(0, kHistogramStart + 1), 2.0f / 9);
}

TEST(ObjectTokenizerTest, ConnectivityAndBackgroundList) {
  const Grid g = MakeGrid({{1, 0, 0}, {0, 1, 0}, {0, 0, 3}});
  ObjectTokenizerOptions options;
  ObjectTokenizer four = MakeTokenizer(options);
  EXPECT_EQ(four.Tokenize(g).num_objects, 3);
  options.connectivity = 8;
  ObjectTokenizer eight = MakeTokenizer(options);
  const TokenizedGrid t8 = eight.Tokenize(g);
  EXPECT_EQ(t8.num_objects, 2);  // the diagonal 1s merge; 3 is another colour
  EXPECT_FLOAT_EQ(t8.feature(0, kArea), 2.0f / 9);
  EXPECT_FLOAT_EQ(t8.feature(0, kPerimeter), 8.0f / 9);  // 4-neighbour perimeter even with 8
  options.background = {0, 3};
  ObjectTokenizer bg = MakeTokenizer(options);
  EXPECT_EQ(bg.Tokenize(g).num_objects, 1);
}

TEST(ObjectTokenizerTest, BoxesSeparatedByAnEmptyRowAreNotAdjacent) {
  ObjectTokenizer tokenizer = MakeTokenizer({});
  const TokenizedGrid t = tokenizer.Tokenize(MakeGrid({{1, 0, 2}, {0, 0, 0}, {3, 0, 0}}));
  ASSERT_EQ(t.num_objects, 3);
  EXPECT_EQ(t.adjacent(0, 1), 0.0f);  // 1 and 2: a whole empty column between them
  EXPECT_EQ(t.adjacent(0, 2), 0.0f);  // 1 and 3: a whole empty row between them
  const TokenizedGrid touching = tokenizer.Tokenize(MakeGrid({{1, 0}, {0, 2}}));
  EXPECT_EQ(touching.adjacent(0, 1), 1.0f);  // corner-touching boxes
}

TEST(ObjectTokenizerTest, EmptyGridIsPadding) {
  ObjectTokenizer tokenizer = MakeTokenizer({});
  TokenizedGrid t;
  tokenizer.Tokenize(nullptr, 0, 5, &t);
  EXPECT_EQ(t.num_objects, 0);
  EXPECT_EQ(t.features.size(), 16u * 23u);
  EXPECT_TRUE(std::all_of(t.features.begin(), t.features.end(), [](float v) { return v == 0; }));
}

TEST(ObjectTokenizerTest, ReusedBuffersGiveTheSameResult) {
  ObjectTokenizer tokenizer = MakeTokenizer({});
  const Grid big = MakeGrid({{1, 2, 1, 2}, {2, 1, 2, 1}, {1, 1, 1, 1}});
  const Grid small = MakeGrid({{5}});
  const TokenizedGrid first = tokenizer.Tokenize(small);
  TokenizedGrid reused = tokenizer.Tokenize(big);
  tokenizer.Tokenize(small, &reused);
  EXPECT_EQ(reused.features, first.features);
  EXPECT_EQ(reused.mask, first.mask);
  EXPECT_EQ(reused.adjacency, first.adjacency);
}

TEST(ObjectTokenizerTest, ValidatesOptions) {
  ObjectTokenizerOptions options;
  options.connectivity = 6;
  EXPECT_THAT(ObjectTokenizer::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokenizer.connectivity")));
  options = {};
  options.max_objects = 0;
  EXPECT_THAT(ObjectTokenizer::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokenizer.max_objects")));
  options = {};
  options.max_color_features = -1;
  EXPECT_THAT(
      ValidateTokenizerOptions(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokenizer.max_color_features")));
  options = {};
  options.background = {0, -2};
  EXPECT_THAT(ValidateTokenizerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokenizer.background[1]")));
}

TEST(ObjectTokenizerTest, OptionsFromConfig) {
  config::v1::TokenizerConfig config;
  EXPECT_THAT(TokenizerOptionsFromConfig(config).background, ElementsAre(0));
  config.add_background(0);
  config.add_background(5);
  config.set_connectivity(8);
  const ObjectTokenizerOptions options = TokenizerOptionsFromConfig(config);
  EXPECT_THAT(options.background, ElementsAre(0, 5));
  EXPECT_EQ(options.connectivity, 8);
  EXPECT_EQ(options.feature_dim(), 23);
}

// ---- Golden vectors: ../shared/reference/golden/tokenizer.json, every case, both connectivities.

const std::vector<std::string>& GoldenCaseNames() {
  static const auto* names = new std::vector<std::string>{"all_background_3x4",
                                                          "single_cell_1x1",
                                                          "single_cell_in_3x3",
                                                          "diagonal_same_colour_4x4",
                                                          "diagonal_two_colours_2x2",
                                                          "several_colours_6x7",
                                                          "lines_3x12",
                                                          "more_than_max_objects_9x9",
                                                          "repo_test_grid_N4_slots2",
                                                          "arc_0520fde7_train0_input",
                                                          "arc_05269061_train0_input",
                                                          "arc_05269061_train0_output",
                                                          "arc_1c786137_train0_output",
                                                          "arc_09629e4f_train0_input",
                                                          "arc_264363fd_train2_input",
                                                          "respect_colors_false_5x4",
                                                          "normalize_false_several_colours"};
  return *names;
}

absl::StatusOr<nlohmann::json> LoadGolden(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileLimited(path, 16 << 20);
  if (!text.ok()) return text.status();
  return ParseJson(*text, path);
}

TEST(ObjectTokenizerGoldenTest, FileHoldsExactlyTheKnownCases) {
  JEPALAB_SHARED_PATH_OR_SKIP(path, "reference/golden/tokenizer.json");
  JEPALAB_ASSERT_OK_AND_ASSIGN(const nlohmann::json golden, LoadGolden(path));
  std::vector<std::string> names;
  for (const auto& c : golden["cases"]) names.push_back(c["name"].get<std::string>());
  EXPECT_EQ(names, GoldenCaseNames());
  EXPECT_EQ(golden["feature_dim"].get<int>(), 23);
}

class ObjectTokenizerGoldenCaseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ObjectTokenizerGoldenCaseTest, MatchesPythonWithinTolerance) {
  JEPALAB_SHARED_PATH_OR_SKIP(path, "reference/golden/tokenizer.json");
  JEPALAB_ASSERT_OK_AND_ASSIGN(const nlohmann::json golden, LoadGolden(path));
  const double atol = golden["compare"]["features"]["atol"].get<double>();
  const double rtol = golden["compare"]["features"]["rtol"].get<double>();
  const nlohmann::json* found = nullptr;
  for (const auto& c : golden["cases"]) {
    if (c["name"] == GetParam()) found = &c;
  }
  ASSERT_NE(found, nullptr) << GetParam() << " not in " << path;
  const nlohmann::json& c = *found;
  JEPALAB_ASSERT_OK_AND_ASSIGN(const Grid grid, GridFromJson(c["grid"], "grid", 9));
  ASSERT_EQ(grid.height, c["height"].get<int>());
  ASSERT_EQ(grid.width, c["width"].get<int>());

  double max_error = 0;
  int outputs_checked = 0;
  for (int connectivity : {4, 8}) {
    const std::string key = "connectivity_" + std::to_string(connectivity);
    if (!c.at("outputs").contains(key)) continue;  // repo_test_grid_N4_slots2 has only 4
    ++outputs_checked;
    SCOPED_TRACE(::testing::Message() << GetParam() << " connectivity " << connectivity);
    ObjectTokenizerOptions options;
    options.max_objects = golden["settings"]["max_objects"].get<int>();
    options.max_color_features = golden["settings"]["max_color_features"].get<int>();
    options.background = {golden["settings"]["background"].get<int>()};
    options.normalize = golden["settings"]["normalize"].get<bool>();
    options.respect_colors = golden["settings"]["respect_colors"].get<bool>();
    options.connectivity = connectivity;
    if (c.contains("settings_override")) {
      const nlohmann::json& o = c["settings_override"];
      if (o.contains("max_objects")) options.max_objects = o["max_objects"].get<int>();
      if (o.contains("max_color_features")) {
        options.max_color_features = o["max_color_features"].get<int>();
      }
      if (o.contains("normalize")) options.normalize = o["normalize"].get<bool>();
      if (o.contains("respect_colors")) options.respect_colors = o["respect_colors"].get<bool>();
    }
    ObjectTokenizer tokenizer = MakeTokenizer(options);
    const TokenizedGrid t = tokenizer.Tokenize(grid);
    const nlohmann::json& expected = c.at("outputs").at(key);
    const int n = options.max_objects, f = options.feature_dim();
    EXPECT_EQ(t.num_objects, expected["num_objects"].get<int>());
    EXPECT_EQ(t.num_components_before_truncation,
              expected["num_components_before_truncation"].get<int>());
    ASSERT_EQ(expected["features"].size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(expected["features"][i].size(), static_cast<size_t>(f));
      for (int j = 0; j < f; ++j) {
        const double want = expected["features"][i][j].get<double>();
        const double got = t.feature(i, j);
        const double error = std::abs(got - want);
        max_error = std::max(max_error, error);
        EXPECT_LE(error, atol + rtol * std::abs(want)) << "features[" << i << "][" << j << "]";
      }
      EXPECT_EQ(t.mask[i], expected["mask"][i].get<double>()) << "mask[" << i << "]";
      for (int j = 0; j < n; ++j) {
        EXPECT_EQ(t.adjacent(i, j), expected["adjacency"][i][j].get<double>())
            << "adjacency[" << i << "][" << j << "]";
      }
    }
  }
  EXPECT_GE(outputs_checked, 1);
  RecordProperty("max_abs_feature_error", ::testing::PrintToString(max_error));
  std::cout << GetParam() << ": max |feature error| = " << max_error << "\n";
}

INSTANTIATE_TEST_SUITE_P(AllCases, ObjectTokenizerGoldenCaseTest,
                         ::testing::ValuesIn(GoldenCaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace jepalab::trainer
