#include "config/metrics_service_config.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::StatusIs;

constexpr char kFile[] = R"(collapse_detectors:
  rank:
    collapsed_below: 1.5
  isotropy:
    healthy_above: 0.01
)";

TEST(MetricsServiceConfigTest, DefaultsWithoutFileOrOverrides) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(config::v1::MetricsServiceConfig config,
                               LoadMetricsServiceConfigFile("", {}));
  EXPECT_DOUBLE_EQ(config.collapse_detectors().rank().collapsed_below(), 2.0);
  EXPECT_EQ(config.collapse_detectors().rank().stat(), "rankme");
  EXPECT_EQ(config.collapse_detectors().isotropy().stat(), "isotropy_robust");
}

TEST(MetricsServiceConfigTest, OverridesApplyOverTheFile) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      config::v1::MetricsServiceConfig config,
      LoadMetricsServiceConfig(kFile, "metrics.yaml",
                               {"collapse_detectors.rank.collapsed_below=1.8"}));
  EXPECT_DOUBLE_EQ(config.collapse_detectors().rank().collapsed_below(), 1.8);
  EXPECT_DOUBLE_EQ(config.collapse_detectors().isotropy().healthy_above(), 0.01);
}

TEST(MetricsServiceConfigTest, InvalidOverrideWithoutFileNamesTheOverride) {
  EXPECT_THAT(
      LoadMetricsServiceConfigFile("", {"collapse_detectors.rank.healthy_above=1"}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(StartsWith("collapse_detectors.rank.healthy_above: must be >= "
                                "collapsed_below"),
                     EndsWith("(--config_override=collapse_detectors.rank.healthy_above=1)"),
                     Not(HasSubstr(":0)")))));
}

TEST(MetricsServiceConfigTest, InvalidOverrideOfAKeyInTheFileNamesTheOverrideNotTheLine) {
  EXPECT_THAT(
      LoadMetricsServiceConfig(kFile, "metrics.yaml",
                               {"collapse_detectors.rank.collapsed_below=-1"})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(StartsWith("collapse_detectors.rank.collapsed_below:"),
                     EndsWith("(--config_override=collapse_detectors.rank.collapsed_below=-1)"),
                     Not(HasSubstr("metrics.yaml")))));
}

TEST(MetricsServiceConfigTest, MistypedOverrideNamesTheOverride) {
  EXPECT_THAT(
      LoadMetricsServiceConfigFile("", {"collapse_detectors.rank.collapsed_below=low"}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("collapse_detectors.rank.collapsed_below: expected a number"),
                     EndsWith("(--config_override=collapse_detectors.rank.collapsed_below=low)"),
                     Not(HasSubstr("<defaults>")))));
  EXPECT_THAT(
      LoadMetricsServiceConfig(kFile, "metrics.yaml", {"collapse_detectors.rank.bogus=1"}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("collapse_detectors.rank.bogus: unknown key"),
                     EndsWith("(--config_override=collapse_detectors.rank.bogus=1)"))));
}

TEST(MetricsServiceConfigTest, InvalidValueInTheFileNamesFileAndLine) {
  EXPECT_THAT(
      LoadMetricsServiceConfig("collapse_detectors:\n  rank:\n    healthy_above: 1\n",
                               "metrics.yaml", {"collapse_detectors.isotropy.stat=isotropy"})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(StartsWith("collapse_detectors.rank.healthy_above:"),
                     EndsWith("(metrics.yaml:3)"))));
}

TEST(MetricsServiceConfigTest, UnreadableFileIsInvalidArgument) {
  EXPECT_THAT(LoadMetricsServiceConfigFile("/nonexistent/metrics.yaml", {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/nonexistent/metrics.yaml")));
}

}  // namespace
}  // namespace jepalab::config
