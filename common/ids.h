// Validation of identifiers that end up in file paths and metric labels.
#ifndef JEPALAB_COMMON_IDS_H_
#define JEPALAB_COMMON_IDS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace jepalab::common {

// OK iff `id` matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}: no path separators, no "..", never
// empty. Otherwise InvalidArgument naming `field`, e.g. "run_id: must match ...".
absl::Status ValidateId(absl::string_view field, absl::string_view id);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_IDS_H_
