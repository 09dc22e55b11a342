// The one logging entry point: glog's LOG/VLOG/CHECK (Debian's Abseil has no absl/log).
// LibTorch on Debian is built with C10_USE_GLOG, so c10's macros are these same ones.
#ifndef JEPALAB_COMMON_LOGGING_H_
#define JEPALAB_COMMON_LOGGING_H_

#include <glog/logging.h>

namespace jepalab::common {

// Call once at the top of main(): logs go to stderr, never stdout.
void InitLogging(const char* argv0);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_LOGGING_H_
