#include "cli/config_diff.h"

#include <map>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "common/yaml_flatten.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StatusIs;

std::map<std::string, std::string> Flat(const std::string& yaml) {
  absl::StatusOr<std::map<std::string, std::string>> flat = common::FlattenYaml(yaml);
  EXPECT_TRUE(flat.ok()) << flat.status();
  return flat.ok() ? *flat : std::map<std::string, std::string>{};
}

TEST(DiffConfigsTest, KeepsOnlyKeysThatDiffer) {
  const auto a = Flat("seed: 1\noptimizer:\n  lr: 0.001\n  wd: 0.05\nvq:\n  refresh: true\n");
  const auto b = Flat("seed: 1\noptimizer:\n  lr: 0.0001\n  wd: 0.05\nvq:\n  refresh: true\n");
  const auto c =
      Flat("seed: 1\noptimizer:\n  lr: 0.001\n  wd: 0.05\nvq:\n  refresh: false\n  extra: 3\n");
  const std::vector<ConfigDiffRow> rows = DiffConfigs({a, b, c});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].key, "optimizer.lr");
  EXPECT_THAT(rows[0].values, ElementsAre("0.001", "0.0001", "0.001"));
  EXPECT_EQ(rows[1].key, "vq.extra");
  EXPECT_THAT(rows[1].values, ElementsAre(kUnsetValue, kUnsetValue, "3"));
  EXPECT_EQ(rows[2].key, "vq.refresh");
  EXPECT_THAT(rows[2].values, ElementsAre("true", "true", "false"));
}

TEST(DiffConfigsTest, IdenticalOrSingleConfigsHaveNoRows) {
  const auto a = Flat("seed: 1\noptimizer:\n  lr: 0.001\n");
  EXPECT_THAT(DiffConfigs({a, a}), IsEmpty());
  EXPECT_THAT(DiffConfigs({a}), IsEmpty());
}

TEST(FormatConfigDiffTest, AlignsColumnsAndCutsLongValues) {
  const std::string long_value(60, 'x');
  const std::string text =
      FormatConfigDiff({"run-a", "run-bb"},
                       {{"optimizer.lr", {"0.001", "0.0001"}}, {"data.path", {long_value, "y"}}});
  EXPECT_EQ(text,
            "KEY           run-a                                     run-bb\n"
            "optimizer.lr  0.001                                     0.0001\n"
            "data.path     " +
                std::string(37, 'x') + "...  y\n");
}

}  // namespace
}  // namespace jepalab::cli
