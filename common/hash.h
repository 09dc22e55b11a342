// Content hashes for configs (a run is a pure function of its resolved config).
#ifndef JEPALAB_COMMON_HASH_H_
#define JEPALAB_COMMON_HASH_H_

#include <string>

#include "absl/strings/string_view.h"

namespace jepalab::common {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_HASH_H_
