#include "trainer_service/core/testing/golden_data.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/testing/shared_data.h"

namespace jepalab::trainer::testing {

absl::StatusOr<std::string> GoldenDir() { return ::testing::SharedDataPath("reference/golden"); }

absl::StatusOr<nlohmann::json> LoadGolden(const std::string& name) {
  absl::StatusOr<std::string> path =
      ::testing::SharedDataPath(absl::StrCat("reference/golden/", name));
  if (!path.ok()) return path.status();
  absl::StatusOr<std::string> text = common::ReadFile(*path);
  if (!text.ok()) return text.status();
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(*path, ": ", e.what()));
  }
}

}  // namespace jepalab::trainer::testing
