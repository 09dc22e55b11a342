#include "trainer_service/core/data/augmentations.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

using config::v1::AugmentationsConfig;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

Grid MakeGrid(int h, int w, std::vector<int> cells) {
  Grid g(h, w, 0);
  g.cells = std::move(cells);
  return g;
}

int CountNonBackground(const Grid& g) {
  return static_cast<int>(std::count_if(g.cells.begin(), g.cells.end(), [](int c) { return c; }));
}

TEST(AugmentationsTest, PalettePermutationIsABijectionOnPresentColours) {
  const Grid g = MakeGrid(2, 4, {0, 1, 1, 2, 3, 0, 2, 3});
  std::set<std::vector<int>> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    TaskRng rng(seed);
    Grid out = g;
    PermutePalette(/*background=*/0, rng, &out);
    std::map<int, int> mapping;
    for (size_t i = 0; i < g.cells.size(); ++i) {
      if (g.cells[i] == 0) {
        EXPECT_EQ(out.cells[i], 0);
        continue;
      }
      auto [it, inserted] = mapping.emplace(g.cells[i], out.cells[i]);
      EXPECT_EQ(it->second, out.cells[i]);  // consistent mapping
    }
    std::set<int> targets;
    for (const auto& [from, to] : mapping) targets.insert(to);
    EXPECT_EQ(targets, (std::set<int>{1, 2, 3}));  // permutation of the present colours
    seen.insert(out.cells);
  }
  EXPECT_GT(seen.size(), 3u);
}

TEST(AugmentationsTest, MaskRatioErasesForegroundOnly) {
  Grid g(20, 20, 0);
  for (size_t i = 0; i < g.cells.size(); i += 2) g.cells[i] = 5;
  TaskRng rng(1);
  Grid out = g;
  MaskCells(0.25, 0, rng, &out);
  const int kept = CountNonBackground(out);
  EXPECT_GT(kept, 120);  // 200 foreground cells, ~150 kept
  EXPECT_LT(kept, 180);
  for (size_t i = 1; i < g.cells.size(); i += 2) EXPECT_EQ(out.cells[i], 0);
  Grid all = g;
  MaskCells(1.0, 0, rng, &all);
  EXPECT_EQ(CountNonBackground(all), 0);
}

TEST(AugmentationsTest, CropIsATranslationOnlyForLargeEnoughGrids) {
  AugmentationsConfig config;
  config.set_random_crop_radius(2);
  config.set_min_grid_size_for_crop(8);
  Grid small(7, 9, 0);
  small.at(3, 4) = 6;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    TaskRng rng(seed);
    Grid out = small;
    AugmentGrid(config, 0, rng, &out);
    EXPECT_EQ(out, small);  // min(H, W) = 7 < 8
  }
  Grid big(8, 8, 0);
  big.at(4, 4) = 6;
  std::set<std::pair<int, int>> positions;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    TaskRng rng(seed);
    Grid out = big;
    AugmentGrid(config, 0, rng, &out);
    ASSERT_EQ(CountNonBackground(out), 1);
    const int idx =
        static_cast<int>(std::find(out.cells.begin(), out.cells.end(), 6) - out.cells.begin());
    positions.insert({idx / 8 - 4, idx % 8 - 4});
  }
  EXPECT_EQ(positions.size(), 25u);  // every (dy, dx) in [-2, 2]^2
  for (const auto& [dy, dx] : positions) {
    EXPECT_LE(std::abs(dy), 2);
    EXPECT_LE(std::abs(dx), 2);
  }
}

TEST(AugmentationsTest, NoiseRoundsAndClampsToOriginalRange) {
  const Grid g = MakeGrid(1, 4, {0, 1, 3, 3});
  TaskRng rng(3);
  Grid tiny = g;
  AddValueNoise(0.05, 0, 3, rng, &tiny);
  EXPECT_EQ(tiny, g);  // sigma 0.05: rounding undoes it (reference §1.6)
  for (uint64_t seed = 0; seed < 50; ++seed) {
    TaskRng r(seed);
    Grid out = g;
    AddValueNoise(5.0, 0, 3, r, &out);
    EXPECT_EQ(out.cells[0], 0);  // background untouched
    for (int c : out.cells) {
      EXPECT_GE(c, 0);
      EXPECT_LE(c, 3);
    }
  }
  double sum = 0, sum_sq = 0;
  TaskRng r(9);
  for (int i = 0; i < 20000; ++i) {
    const double z = StandardNormal(r);
    sum += z;
    sum_sq += z * z;
  }
  EXPECT_NEAR(sum / 20000, 0.0, 0.03);
  EXPECT_NEAR(sum_sq / 20000, 1.0, 0.05);
}

TEST(AugmentationsTest, EightGeometricTransforms) {
  const Grid g = MakeGrid(2, 3, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(GeometricTransform(g, 0), g);
  EXPECT_THAT(GeometricTransform(g, 1).cells, ElementsAre(3, 6, 2, 5, 1, 4));  // np.rot90
  EXPECT_EQ(GeometricTransform(g, 1).height, 3);
  EXPECT_THAT(GeometricTransform(g, 2).cells, ElementsAre(6, 5, 4, 3, 2, 1));
  EXPECT_THAT(GeometricTransform(g, 3).cells, ElementsAre(4, 1, 5, 2, 6, 3));
  EXPECT_THAT(GeometricTransform(g, 4).cells, ElementsAre(3, 2, 1, 6, 5, 4));  // fliplr
  EXPECT_THAT(GeometricTransform(g, 5).cells, ElementsAre(4, 5, 6, 1, 2, 3));  // flipud
  EXPECT_THAT(GeometricTransform(g, 6).cells, ElementsAre(6, 3, 5, 2, 4, 1));
  EXPECT_THAT(GeometricTransform(g, 7).cells, ElementsAre(1, 4, 2, 5, 3, 6));
  std::set<std::vector<int>> distinct;
  for (int i = 0; i < 8; ++i) distinct.insert(GeometricTransform(g, i).cells);
  EXPECT_EQ(distinct.size(), 8u);
}

TEST(AugmentationsTest, ObjectDropoutErasesWholeComponents) {
  // Components (4-connected, same colour): {1,1}, {2}, {1} (diagonal to the first), {3,3}.
  const Grid g = MakeGrid(3, 3, {1, 1, 0, 0, 0, 1, 2, 0, 0});
  TaskRng rng(0);
  Grid none = g;
  DropObjects(0.0, 0, rng, &none);
  EXPECT_EQ(none, g);
  Grid all = g;
  DropObjects(1.0, 0, rng, &all);
  EXPECT_EQ(CountNonBackground(all), 0);
  for (uint64_t seed = 0; seed < 30; ++seed) {
    TaskRng r(seed);
    Grid out = g;
    DropObjects(0.5, 0, r, &out);
    EXPECT_EQ(out.cells[0] == 0, out.cells[1] == 0) << "the 1-1 pair goes together";
  }
}

TEST(AugmentationsTest, SampleAugmentationIsSeededPerSample) {
  AugmentationsConfig config;
  config.set_palette_permutation(true);
  config.set_mask_ratio(0.3);
  config.set_geometric_augmentation(true);
  GridSample sample;
  Grid g(5, 5, 0);
  for (size_t i = 0; i < g.cells.size(); ++i) g.cells[i] = static_cast<int>(i % 4);
  sample.context = {g, g, g};
  sample.target = g;
  GridSample a = sample, b = sample, c = sample;
  AugmentSample(config, 0, 123, 7, &a);
  AugmentSample(config, 0, 123, 7, &b);
  AugmentSample(config, 0, 123, 8, &c);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.target, b.target);
  EXPECT_NE(a.context, c.context);
  // Frames are augmented independently.
  EXPECT_FALSE(a.context[0] == a.context[1] && a.context[1] == a.context[2]);
  // Disabled: untouched.
  GridSample d = sample;
  AugmentSample(AugmentationsConfig(), 0, 123, 7, &d);
  EXPECT_EQ(d.context, sample.context);
  EXPECT_FALSE(AugmentationsEnabled(AugmentationsConfig()));
}

TEST(AugmentationsTest, ValidatesConfig) {
  AugmentationsConfig config;
  EXPECT_THAT(ValidateAugmentationsConfig(config), ::testing::IsOk());
  config.set_mask_ratio(1.5);
  EXPECT_THAT(ValidateAugmentationsConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("augmentations.mask_ratio")));
  config = {};
  config.set_random_crop_radius(-1);
  EXPECT_THAT(
      ValidateAugmentationsConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("augmentations.random_crop_radius")));
  config = {};
  config.set_gaussian_noise_std(-0.1);
  EXPECT_THAT(
      ValidateAugmentationsConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("augmentations.gaussian_noise_std")));
  config = {};
  config.set_object_dropout(-0.5);
  EXPECT_THAT(
      ValidateAugmentationsConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("augmentations.object_dropout")));
}

}  // namespace
}  // namespace jepalab::trainer
