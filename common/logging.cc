#include "common/logging.h"

namespace jepalab::common {

void InitLogging(const char* argv0) {
  static bool initialized = false;
  if (initialized) return;
  initialized = true;
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv0);
}

}  // namespace jepalab::common
