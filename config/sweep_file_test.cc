#include "config/sweep_file.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "config/sweep.h"
#include "config/trainer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

constexpr char kBaseConfig[] = "configs/training/jepa_pretrain_a6000_mini.yaml";

// Tests run in the runfiles tree, whose root is the repository root.
void ExpectShippedSweepLoads(const std::string& path, const std::string& expected_config) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(scheduler::v1::SubmitSweepRequest request, LoadSweepFile(path, ""));
  EXPECT_EQ(request.config_path(), expected_config);
  EXPECT_FALSE(request.config_yaml().empty());
  EXPECT_THAT(request.seeds(), ElementsAre(123, 124));
  EXPECT_TRUE(request.stop_on_collapse().enabled());
  // The scheduler's own expansion, and every point's config loads with its overrides.
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<SweepPoint> points,
                               ExpandSweep(SweepSpecFromRequest(request)));
  ASSERT_EQ(points.size(), 5u);
  std::vector<std::string> variants;
  for (const SweepPoint& point : points) {
    variants.push_back(point.variant);
    EXPECT_THAT(LoadTrainerConfig(request.config_yaml(), path, point.overrides), IsOk())
        << point.field;
  }
  EXPECT_THAT(variants, ElementsAre("baseline", "vq_no_refresh", "commitment_015", "refresh_2000",
                                    "codebook_grad"));
}

TEST(ShippedSweepTest, VqFixesLoadsExpandsAndEveryVariantConfigIsValid) {
  ExpectShippedSweepLoads("configs/sweeps/vq_fixes.yaml",
                          "configs/training/jepa_pretrain_a6000.yaml");
}

TEST(ShippedSweepTest, VqFixesMiniUsesTheMiniConfig) {
  ExpectShippedSweepLoads("configs/sweeps/vq_fixes_mini.yaml", kBaseConfig);
}

TEST(ShippedSweepTest, VariantOverridesMatchTheDiagnosticConfigs) {
  // Each variant must equal the plan's hand-written config for that fix.
  JEPALAB_ASSERT_OK_AND_ASSIGN(scheduler::v1::SubmitSweepRequest request,
                               LoadSweepFile("configs/sweeps/vq_fixes_mini.yaml", ""));
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<SweepPoint> points,
                               ExpandSweep(SweepSpecFromRequest(request)));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"vq_no_refresh", "configs/training/jepa_diag_vq_no_refresh_mini.yaml"},
      {"commitment_015", "configs/training/jepa_diag_commitment_015_mini.yaml"},
      {"refresh_2000", "configs/training/jepa_diag_refresh_2000_mini.yaml"},
      {"codebook_grad", "configs/training/jepa_diag_codebook_grad_mini.yaml"},
  };
  for (const auto& [variant, config_path] : expected) {
    const SweepPoint* point = nullptr;
    for (const SweepPoint& p : points) {
      if (p.variant == variant) point = &p;
    }
    ASSERT_NE(point, nullptr) << variant;
    JEPALAB_ASSERT_OK_AND_ASSIGN(
        TrainerConfig swept, LoadTrainerConfig(request.config_yaml(), "sweep", point->overrides));
    JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig written, LoadTrainerConfigFile(config_path));
    EXPECT_EQ(ConfigHash(swept), ConfigHash(written)) << variant;
  }
}

TEST(SweepFileTest, GridBecomesRequestAxes) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(SweepFileConfig sweep, ParseSweepFile(R"(
name: lr_grid
config: x.yaml
overrides: [training.epochs=1]
grid:
  - key: optimizer.lr
    values: ["1e-3", "1e-4"]
seeds: [1]
tags: [grid]
)",
                                                                     "grid.yaml"));
  JEPALAB_ASSERT_OK_AND_ASSIGN(scheduler::v1::SubmitSweepRequest request,
                               SweepRequestFromFile(sweep, "seed: 1\n"));
  EXPECT_EQ(request.name(), "lr_grid");
  EXPECT_EQ(request.config_yaml(), "seed: 1\n");
  ASSERT_EQ(request.grid_size(), 1);
  EXPECT_THAT(request.grid(0).values(), ElementsAre("1e-3", "1e-4"));
  EXPECT_THAT(request.overrides(), ElementsAre("training.epochs=1"));
  EXPECT_THAT(request.tags(), ElementsAre("grid"));
  EXPECT_FALSE(request.has_stop_on_collapse());
}

TEST(SweepFileTest, BadFilesNameTheField) {
  auto request_from = [](const std::string& yaml) -> absl::Status {
    absl::StatusOr<SweepFileConfig> sweep = ParseSweepFile(yaml, "bad.yaml");
    if (!sweep.ok()) return sweep.status();
    return SweepRequestFromFile(*sweep, "seed: 1\n").status();
  };
  EXPECT_THAT(request_from("name: s\nconfig: x.yaml\nvariantz: []\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("variantz")));
  EXPECT_THAT(request_from("name: s\nvariants: [{name: a}]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config: must be set")));
  EXPECT_THAT(request_from("name: 'a b'\nconfig: x.yaml\nvariants: [{name: a}]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name:")));
  EXPECT_THAT(request_from("name: s\nconfig: x.yaml\nvariants: [{name: a}, {name: a}]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("variants[1].name")));
  EXPECT_THAT(request_from("name: s\nconfig: x.yaml\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("variants")));
  EXPECT_THAT(request_from("name: s\nconfig: x.yaml\nvariants: [{name: a}]\n"
                           "grid: [{key: k, values: [1]}]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("grid")));
  EXPECT_THAT(request_from("name: s\nconfig: x.yaml\nvariants: [{name: a}]\n"
                           "stop_on_collapse: {enabled: true, confirm_events: 0}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stop_on_collapse.confirm_events: must be >= 1, got 0")));
}

TEST(SweepFileTest, MissingFilesAreReported) {
  EXPECT_THAT(LoadSweepFile("configs/sweeps/nope.yaml", ""),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.yaml")));
  const std::string path =
      (std::filesystem::path(std::getenv("TEST_TMPDIR")) / "missing_config.yaml").string();
  std::ofstream(path) << "name: s\nconfig: configs/training/nope.yaml\nvariants: [{name: a}]\n";
  EXPECT_THAT(LoadSweepFile(path, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("config: file not found: configs/training/nope.yaml")));
}

}  // namespace
}  // namespace jepalab::config
