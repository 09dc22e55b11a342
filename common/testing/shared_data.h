// Locates the team's shared read-only data (<workspace>/../shared: reference golden vectors, ARC
// task files) from a test running in Bazel's sandbox, and skips the test when it is absent.
//   JEPALAB_SHARED_PATH_OR_SKIP(path, "reference/golden/tokenizer.json");
//   // `path` is now an absolute std::string; without ../shared the test was skipped.
#ifndef JEPALAB_COMMON_TESTING_SHARED_DATA_H_
#define JEPALAB_COMMON_TESTING_SHARED_DATA_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace testing {

// The absolute, symlink-free path of the shared directory. $JEPALAB_SHARED_DIR wins when set
// (pass it with --test_env); otherwise the real path of this library's anchor runfile gives the
// workspace, and the directory is its sibling `shared`. NotFound (naming what was tried) when no
// such directory exists.
absl::StatusOr<std::string> SharedDataDir();

// SharedDataDir() + "/" + relative, e.g. SharedDataPath("data/arc-agi-1/data/training").
// NotFound, naming the path, when the directory or the file/folder under it does not exist.
absl::StatusOr<std::string> SharedDataPath(absl::string_view relative);

// True when $JEPALAB_REQUIRE_SHARED is "1": tools/test.sh sets it where ../shared exists (as in
// CI), so that a fidelity test that cannot find its data fails instead of passing as skipped.
bool SharedDataRequired();

}  // namespace testing

// Skips the current test (in a TEST body or SetUp) because shared data is missing, `why` (an
// absl::Status) saying what; fails it instead when SharedDataRequired().
#define JEPALAB_SKIP_WITHOUT_SHARED(why)                                                   \
  do {                                                                                     \
    if (::testing::SharedDataRequired()) {                                                 \
      GTEST_FAIL() << "shared data required ($JEPALAB_REQUIRE_SHARED=1) but unavailable: " \
                   << (why).ToString();                                                    \
    }                                                                                      \
    GTEST_SKIP() << "shared data unavailable, skipping: " << (why).ToString();             \
  } while (0)

// Declares `std::string var` holding SharedDataPath(relative), or skips the current test (in a
// TEST body or SetUp) with a message naming the missing path; fails it when SharedDataRequired().
#define JEPALAB_SHARED_PATH_OR_SKIP(var, relative)                                            \
  std::string var;                                                                            \
  do {                                                                                        \
    ::absl::StatusOr<std::string> jepalab_shared_path_ = ::testing::SharedDataPath(relative); \
    if (!jepalab_shared_path_.ok()) {                                                         \
      JEPALAB_SKIP_WITHOUT_SHARED(jepalab_shared_path_.status());                             \
    }                                                                                         \
    var = *std::move(jepalab_shared_path_);                                                   \
  } while (0)

#endif  // JEPALAB_COMMON_TESTING_SHARED_DATA_H_
