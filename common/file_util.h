// Whole-file reads and writes and path joining, so that loaders and stores do not each carry
// their own ifstream copy with its own error message.
#ifndef JEPALAB_COMMON_FILE_UTIL_H_
#define JEPALAB_COMMON_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace jepalab::common {

// The whole file, bytes as stored. Errors name the path, "cannot read <path>: <reason>":
// NotFound (no such file or directory), PermissionDenied, InvalidArgument (a directory),
// Internal (any other I/O error).
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `contents` to `<path>.tmp` and renames it over `path`, so a crash leaves the old or the
// new file, never half of one. Errors name the file: NotFound (missing directory),
// PermissionDenied, ResourceExhausted (disk full), Internal (anything else); the temporary file
// is removed on failure.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// `path` relative to `base_dir`: `path` itself when it is absolute or `base_dir` is empty,
// otherwise "<base_dir>/<path>" with one separator between them.
std::string JoinPath(absl::string_view base_dir, absl::string_view path);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_FILE_UTIL_H_
