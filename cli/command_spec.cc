#include "cli/command_spec.h"

#include "absl/strings/cord.h"

namespace jepalab::cli {
namespace {

// Marks a usage error apart from an InvalidArgument a service returned (those exit 1).
constexpr char kUsagePayload[] = "jepalab.cli/usage";

}  // namespace

absl::Status UsageError(const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

absl::Status Unsuccessful() { return absl::Status(absl::StatusCode::kAborted, ""); }

int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  return status.GetPayload(kUsagePayload).has_value() ? 2 : 1;
}

}  // namespace jepalab::cli
