#include "config/collapse_detectors_config.h"

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;
using v1::CollapseDetectorsConfig;

TEST(CollapseDetectorsConfigTest, DefaultsAreTheSeedPlanAndValid) {
  CollapseDetectorsConfig config;
  EXPECT_THAT(ValidateCollapseDetectorsConfig(config), IsOk());
  EXPECT_EQ(config.rank().stat(), "rankme");
  EXPECT_EQ(config.rank().collapsed_below(), 2.0);
  EXPECT_EQ(config.rank().healthy_above(), 4.0);
  EXPECT_EQ(config.isotropy().stat(), "isotropy_robust");
  EXPECT_TRUE(config.isotropy().relative_to_early());
  EXPECT_EQ(config.isotropy().collapsed_fraction_of_early(), 0.25);
  EXPECT_EQ(config.isotropy().healthy_fraction_of_early(), 0.5);
}

// A threshold no run can reach is refused with the bound that makes it so.
TEST(CollapseDetectorsConfigTest, ThresholdsThatCannotFireAreRefused) {
  CollapseDetectorsConfig config;
  config.mutable_rank()->set_collapsed_below(1);
  config.mutable_rank()->set_healthy_above(3);
  EXPECT_THAT(ValidateCollapseDetectorsConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rank.collapsed_below: cannot fire: the rank is >= 1, got 1")));
  config.Clear();
  config.mutable_isotropy()->set_relative_to_early(false);
  config.mutable_isotropy()->set_collapsed_below(1e-5);
  EXPECT_THAT(ValidateCollapseDetectorsConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("isotropy.collapsed_below: cannot fire for any run: "
                                 "isotropy_robust >= 1/d >= 1/65536, got 1e-05")));
  // The reference isotropy has no such floor.
  config.mutable_isotropy()->set_stat("isotropy");
  EXPECT_THAT(ValidateCollapseDetectorsConfig(config), IsOk());
}

TEST(CollapseDetectorsConfigTest, EveryRuleNamesItsField) {
  const std::vector<std::pair<std::function<void(CollapseDetectorsConfig&)>, std::string>> cases = {
      {[](auto& c) { c.mutable_rank()->set_stat("svd"); }, "collapse_detectors.rank.stat"},
      {[](auto& c) { c.mutable_rank()->set_collapsed_below(-1); },
       "collapse_detectors.rank.collapsed_below"},
      {[](auto& c) { c.mutable_rank()->set_healthy_above(1); },
       "collapse_detectors.rank.healthy_above"},
      {[](auto& c) { c.mutable_rank()->set_collapsed_below(1); },
       "collapse_detectors.rank.collapsed_below"},
      {[](auto& c) { c.mutable_isotropy()->set_stat("x"); }, "collapse_detectors.isotropy.stat"},
      {[](auto& c) { c.mutable_isotropy()->set_collapsed_fraction_of_early(0); },
       "collapse_detectors.isotropy.collapsed_fraction_of_early"},
      {[](auto& c) { c.mutable_isotropy()->set_healthy_fraction_of_early(0.1); },
       "collapse_detectors.isotropy.healthy_fraction_of_early"},
      {[](auto& c) {
         c.mutable_isotropy()->set_relative_to_early(false);
         c.mutable_isotropy()->set_collapsed_below(1e-5);
       },
       "collapse_detectors.isotropy.collapsed_below"},
      {[](auto& c) { c.mutable_isotropy()->set_healthy_above(1e-5); },
       "collapse_detectors.isotropy.healthy_above"},
      {[](auto& c) { c.mutable_codebook_usage()->set_collapsed_below(2); },
       "collapse_detectors.codebook_usage.collapsed_below"},
      {[](auto& c) { c.mutable_codebook_usage()->set_warning_below(0.01); },
       "collapse_detectors.codebook_usage.warning_below"},
      {[](auto& c) { c.mutable_codebook_usage()->set_falling_fraction(1.5); },
       "collapse_detectors.codebook_usage.falling_fraction"},
      {[](auto& c) { c.mutable_validation_spike()->set_warning_ratio(0.9); },
       "collapse_detectors.validation_spike.warning_ratio"},
      {[](auto& c) { c.mutable_validation_spike()->set_collapsed_ratio(1.1); },
       "collapse_detectors.validation_spike.collapsed_ratio"},
      {[](auto& c) { c.mutable_loss_plateau()->set_metric(""); },
       "collapse_detectors.loss_plateau.metric"},
      {[](auto& c) { c.mutable_loss_plateau()->set_window_steps(0); },
       "collapse_detectors.loss_plateau.window_steps"},
      {[](auto& c) { c.mutable_loss_plateau()->set_min_relative_improvement(1); },
       "collapse_detectors.loss_plateau.min_relative_improvement"},
      {[](auto& c) { c.mutable_loss_plateau()->set_rise_ratio(1); },
       "collapse_detectors.loss_plateau.rise_ratio"},
      {[](auto& c) { c.mutable_divergence()->set_max_loss(0); },
       "collapse_detectors.divergence.max_loss"},
      {[](auto& c) { c.mutable_divergence()->set_max_grad_norm(std::nan("")); },
       "collapse_detectors.divergence.max_grad_norm"},
  };
  for (const auto& [mutate, field] : cases) {
    CollapseDetectorsConfig config;
    mutate(config);
    EXPECT_THAT(ValidateCollapseDetectorsConfig(config),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field + ":")))
        << field;
  }
}

}  // namespace
}  // namespace jepalab::config
