// Locates ../shared/reference/golden (beside the workspace) from a test and reads its JSON files.
// Tests GTEST_SKIP() when the shared folder is absent; they never fail for that reason.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_TESTING_GOLDEN_DATA_H_
#define JEPALAB_TRAINER_SERVICE_CORE_TESTING_GOLDEN_DATA_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace jepalab::trainer::testing {

// <shared>/reference/golden, <shared> as //common/testing:shared_data finds it
// ($JEPALAB_SHARED_DIR, else the workspace's sibling `shared`). NotFound if it does not exist.
absl::StatusOr<std::string> GoldenDir();

// Parses GoldenDir()/<name>. NotFound if the folder or file is absent, InvalidArgument if the
// file is not valid JSON.
absl::StatusOr<nlohmann::json> LoadGolden(const std::string& name);

}  // namespace jepalab::trainer::testing

#endif  // JEPALAB_TRAINER_SERVICE_CORE_TESTING_GOLDEN_DATA_H_
