#include "common/ids.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

TEST(IdsTest, AcceptsReadableIds) {
  EXPECT_THAT(ValidateId("run_id", "vq-ablation-0001-s123"), IsOk());
  EXPECT_THAT(ValidateId("run_id", "a.b_c"), IsOk());
}

TEST(IdsTest, RejectsEmptyPathLikeAndLongIds) {
  EXPECT_THAT(ValidateId("run_id", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id: must not be empty")));
  EXPECT_THAT(ValidateId("run_id", "../etc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id")));
  EXPECT_THAT(ValidateId("run_id", "a/b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a/b")));
  EXPECT_THAT(ValidateId("id", ".hidden"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
  EXPECT_THAT(ValidateId("id", std::string(129, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 128")));
}

}  // namespace
}  // namespace jepalab::common
