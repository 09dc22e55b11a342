#include "common/testing/temp_dir.h"

#include <stdlib.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace jepalab::testing {

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string templ = absl::StrCat(tmp ? tmp : "/tmp", "/", prefix, "XXXXXX");
  char* made = mkdtemp(templ.data());
  return made ? std::string(made) : templ;
}

}  // namespace jepalab::testing
