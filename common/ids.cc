#include "common/ids.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace jepalab::common {
namespace {
constexpr size_t kMaxIdLength = 128;

bool IsIdChar(char c) { return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-'; }
}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": must not be empty"));
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: must be at most %d characters, got %d",
                                                      field, kMaxIdLength, id.size()));
  }
  bool valid = absl::ascii_isalnum(id.front());
  for (char c : id) valid = valid && IsIdChar(c);
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: must match [A-Za-z0-9][A-Za-z0-9._-]*, got \"%s\"", field, absl::CEscape(id)));
  }
  return absl::OkStatus();
}

}  // namespace jepalab::common
