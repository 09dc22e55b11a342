#include "proto/common_states.h"

namespace jepalab::common {

bool IsTerminal(v1::RunState state) {
  switch (state) {
    case v1::RUN_STATE_SUCCEEDED:
    case v1::RUN_STATE_EARLY_STOPPED:
    case v1::RUN_STATE_DIVERGED:
    case v1::RUN_STATE_FAILED:
    case v1::RUN_STATE_CANCELLED:
      return true;
    default:
      return false;
  }
}

}  // namespace jepalab::common
