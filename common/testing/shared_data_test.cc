#include "common/testing/shared_data.h"

#include <sys/stat.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "gtest/gtest-spi.h"
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
  if (absl::StatusOr<std::string> dir = SharedDataDir(); !dir.ok()) {
    JEPALAB_SKIP_WITHOUT_SHARED(dir.status());
  }
  const absl::StatusOr<std::string> path = SharedDataPath("no/such/file.json");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(path.status().message().find("no/such/file.json"), std::string::npos);
}

void SkipForMissingData() { JEPALAB_SKIP_WITHOUT_SHARED(absl::NotFoundError("golden/x.json")); }

// Where tools/test.sh finds ../shared it sets JEPALAB_REQUIRE_SHARED=1: a missing file is then a
// failure, so a fidelity test cannot pass as "skipped" in CI.
TEST(SharedDataTest, MissingDataFailsWhenRequired) {
  const char* before = std::getenv("JEPALAB_REQUIRE_SHARED");
  const std::string saved = before == nullptr ? "" : before;
  setenv("JEPALAB_REQUIRE_SHARED", "1", 1);
  EXPECT_TRUE(SharedDataRequired());
  EXPECT_FATAL_FAILURE(SkipForMissingData(), "golden/x.json");
  setenv("JEPALAB_REQUIRE_SHARED", "0", 1);
  EXPECT_FALSE(SharedDataRequired());
  if (before == nullptr) {
    unsetenv("JEPALAB_REQUIRE_SHARED");
  } else {
    setenv("JEPALAB_REQUIRE_SHARED", saved.c_str(), 1);
  }
}

}  // namespace
}  // namespace testing
