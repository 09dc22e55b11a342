#include "common/yaml_flatten.h"

#include <map>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StatusIs;

TEST(FlattenYamlTest, NestedMappingsBecomeDottedKeys) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto flat,
                               FlattenYaml("seed: 1\noptimizer: {lr: 5e-05, name: adam}\n"
                                           "invariance: {symmetry_modes: [h, v]}\nx: null\n"
                                           "encoder:\n  vq:\n    codes: 64\n  extra: {}\n"));
  EXPECT_THAT(
      flat, ElementsAre(Pair("encoder.extra", "{}"), Pair("encoder.vq.codes", "64"),
                        Pair("invariance.symmetry_modes", "[h, v]"), Pair("optimizer.lr", "5e-05"),
                        Pair("optimizer.name", "adam"), Pair("seed", "1"), Pair("x", "null")));
}

TEST(FlattenYamlTest, EmptyDocumentIsEmpty) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto flat, FlattenYaml(""));
  EXPECT_THAT(flat, IsEmpty());
  JEPALAB_ASSERT_OK_AND_ASSIGN(flat, FlattenYaml("# only a comment\n"));
  EXPECT_THAT(flat, IsEmpty());
}

TEST(FlattenYamlTest, NotAMappingOrMalformedIsInvalidArgument) {
  EXPECT_THAT(FlattenYaml("- a\n- b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected a YAML mapping")));
  EXPECT_THAT(FlattenYaml("a: [1, 2\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed YAML")));
}

}  // namespace
}  // namespace jepalab::common
