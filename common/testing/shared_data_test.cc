#include "common/testing/shared_data.h"

#include <sys/stat.h>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace testing {
namespace {

TEST(SharedDataTest, FindsReferenceDirectoryOrSkips) {
  JEPALAB_SHARED_PATH_OR_SKIP(reference, "reference");
  EXPECT_EQ(reference.front(), '/');
  struct stat st;
  EXPECT_EQ(::stat(reference.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(SharedDataTest, MissingFileIsNotFound) {
  if (!SharedDataDir().ok()) GTEST_SKIP() << "../shared not found";
  const absl::StatusOr<std::string> path = SharedDataPath("no/such/file.json");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(path.status().message().find("no/such/file.json"), std::string::npos);
}

}  // namespace
}  // namespace testing
