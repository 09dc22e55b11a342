// Fresh directories for tests.
#ifndef JEPALAB_COMMON_TESTING_TEMP_DIR_H_
#define JEPALAB_COMMON_TESTING_TEMP_DIR_H_

#include <string>

namespace jepalab::testing {

// A new, empty directory under $TEST_TMPDIR (or /tmp) whose name starts with `prefix`.
std::string MakeTempDir(const std::string& prefix);

}  // namespace jepalab::testing

#endif  // JEPALAB_COMMON_TESTING_TEMP_DIR_H_
