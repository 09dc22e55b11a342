#include "config/sweep.h"

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

std::vector<std::string> Names(const std::vector<SweepPoint>& points) {
  std::vector<std::string> names;
  for (const SweepPoint& point : points) names.push_back(point.name);
  return names;
}

TEST(ExpandSweepTest, VariantsInOrderWithCommonOverridesFirst) {
  SweepSpec spec;
  spec.name = "lr";
  spec.overrides = {"training.epochs=2"};
  spec.variants = {{"small", {"optimizer.lr=0.0001"}},
                   {"big", {"optimizer.lr=0.001", "training.epochs=4"}}};
  spec.seeds = {1, 2};
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<SweepPoint> points, ExpandSweep(spec));
  EXPECT_THAT(Names(points), ElementsAre("lr.small", "lr.big"));
  EXPECT_THAT(points[1].overrides,
              ElementsAre("training.epochs=2", "optimizer.lr=0.001", "training.epochs=4"));
  EXPECT_EQ(points[1].field, "variants[1] (big)");
  EXPECT_THAT(points[1].RunNames(), ElementsAre("lr.big-s1", "lr.big-s2"));
}

TEST(ExpandSweepTest, GridIsRowMajorWithReadableNames) {
  SweepSpec spec;
  spec.name = "g";
  spec.overrides = {"training.epochs=1"};
  spec.grid = {{"optimizer.lr", {"1e-4", "3e-4"}}, {"training.batch_size", {"32", "64", "128"}}};
  spec.seeds = {7};
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<SweepPoint> points, ExpandSweep(spec));
  EXPECT_THAT(Names(points), ElementsAre("g.lr-1e-4_batch_size-32", "g.lr-1e-4_batch_size-64",
                                         "g.lr-1e-4_batch_size-128", "g.lr-3e-4_batch_size-32",
                                         "g.lr-3e-4_batch_size-64", "g.lr-3e-4_batch_size-128"));
  EXPECT_THAT(points[4].overrides,
              ElementsAre("training.epochs=1", "optimizer.lr=3e-4", "training.batch_size=64"));
  EXPECT_THAT(points[4].RunNames(), ElementsAre("g.lr-3e-4_batch_size-64-s7"));
  // The same spec always expands the same way.
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<SweepPoint> again, ExpandSweep(spec));
  EXPECT_EQ(Names(again), Names(points));
}

TEST(ExpandSweepTest, GridNamesSanitizeValuesAndDisambiguateKeys) {
  SweepSpec spec;
  spec.name = "g";
  spec.grid = {{"invariance.symmetry_modes", {"[horizontal, vertical]"}},
               {"sigreg.weight", {"0.1"}},
               {"relational_loss.weight", {"0.05"}}};
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<SweepPoint> points, ExpandSweep(spec));
  EXPECT_THAT(Names(points), ElementsAre("g.symmetry_modes-horizontal-vertical_sigreg.weight-0.1_"
                                         "relational_loss.weight-0.05"));
  EXPECT_THAT(points[0].RunNames(), ElementsAre(points[0].name));  // no seeds
}

TEST(ExpandSweepTest, InvalidSpecsNameTheField) {
  SweepSpec spec;
  spec.name = "s";
  EXPECT_THAT(ExpandSweep(spec), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("variants: must not be empty")));
  spec.variants = {{"a", {}}, {"a", {}}};
  EXPECT_THAT(ExpandSweep(spec), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("variants[1].name: duplicate variant \"a\"")));
  spec.variants = {{"../x", {}}};
  EXPECT_THAT(ExpandSweep(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("variants[0].name")));
  spec.variants = {{"a", {}}};
  spec.grid = {{"optimizer.lr", {"1"}}};
  EXPECT_THAT(ExpandSweep(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
  spec.variants.clear();
  spec.grid = {{"optimizer.lr", {}}};
  EXPECT_THAT(ExpandSweep(spec), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("grid[0].values: must not be empty")));
  spec.grid = {{"optimizer.lr", {"1"}}, {"optimizer.lr", {"2"}}};
  EXPECT_THAT(ExpandSweep(spec), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("grid[1].key: duplicate key")));
  spec.grid = {{"", {"1"}}};
  EXPECT_THAT(ExpandSweep(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("grid[0].key")));
  spec.grid = {{"model.x", {"[a]", "a"}}};
  EXPECT_THAT(ExpandSweep(spec), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("would both be named \"x-a\"")));
  spec.grid = {{"a.b", std::vector<std::string>(200, "1")},
               {"a.c", std::vector<std::string>(51, "1")}};
  EXPECT_THAT(ExpandSweep(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than 10000 points")));
  spec.grid = {{"a.b", {"1"}}};
  spec.seeds = {3, 3};
  EXPECT_THAT(ExpandSweep(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seeds: duplicate seed 3")));
  spec.seeds.clear();
  spec.name = "";
  EXPECT_THAT(ExpandSweep(spec), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
}

TEST(ExpandSweepTest, FromRequest) {
  scheduler::v1::SubmitSweepRequest request;
  request.add_overrides("training.epochs=1");
  auto* axis = request.add_grid();
  axis->set_key("optimizer.lr");
  axis->add_values("0.1");
  axis->add_values("0.2");
  request.add_seeds(5);
  SweepSpec spec = SweepSpecFromRequest(request);
  EXPECT_EQ(spec.name, "sweep");
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<SweepPoint> points, ExpandSweep(spec));
  EXPECT_THAT(Names(points), ElementsAre("sweep.lr-0.1", "sweep.lr-0.2"));
  EXPECT_THAT(points[0].seeds, ElementsAre(5));
}

}  // namespace
}  // namespace jepalab::config
