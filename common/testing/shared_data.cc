#include "common/testing/shared_data.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace testing {
namespace {

constexpr absl::string_view kAnchor = "common/testing/shared_data_anchor.txt";

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string RealPath(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) return "";
  return buffer;
}

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Where the anchor runfile may be: under $TEST_SRCDIR/$TEST_WORKSPACE (bazel test), or relative
// to the working directory, which is that runfiles root in a test.
std::vector<std::string> AnchorCandidates() {
  std::vector<std::string> out;
  const std::string srcdir = GetEnv("TEST_SRCDIR");
  const std::string workspace = GetEnv("TEST_WORKSPACE");
  if (!srcdir.empty() && !workspace.empty()) {
    out.push_back(absl::StrCat(srcdir, "/", workspace, "/", kAnchor));
  }
  out.emplace_back(kAnchor);
  return out;
}

}  // namespace

absl::StatusOr<std::string> SharedDataDir() {
  const std::string from_env = GetEnv("JEPALAB_SHARED_DIR");
  if (!from_env.empty()) {
    if (IsDirectory(from_env)) return RealPath(from_env);
    return absl::NotFoundError(
        absl::StrCat("$JEPALAB_SHARED_DIR=", from_env, " is not a directory"));
  }
  std::vector<std::string> tried;
  for (const std::string& candidate : AnchorCandidates()) {
    const std::string real = RealPath(candidate);
    if (real.size() <= kAnchor.size() || !absl::EndsWith(real, kAnchor)) {
      tried.push_back(candidate);
      continue;
    }
    // real = <workspace>/common/testing/shared_data_anchor.txt
    const std::string workspace = real.substr(0, real.size() - kAnchor.size() - 1);
    const std::string shared = RealPath(workspace + "/../shared");
    if (!shared.empty() && IsDirectory(shared)) return shared;
    tried.push_back(workspace + "/../shared");
  }
  return absl::NotFoundError(
      absl::StrCat("no shared data directory; tried ", absl::StrJoin(tried, ", ")));
}

absl::StatusOr<std::string> SharedDataPath(absl::string_view relative) {
  absl::StatusOr<std::string> dir = SharedDataDir();
  if (!dir.ok()) return dir.status();
  std::string path = absl::StrCat(*dir, "/", relative);
  if (!Exists(path)) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
  return path;
}

bool SharedDataRequired() { return GetEnv("JEPALAB_REQUIRE_SHARED") == "1"; }

}  // namespace testing
