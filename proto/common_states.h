// Helpers on the shared RunState enum (common.proto), so every service agrees which states end a
// run.
#ifndef JEPALAB_PROTO_COMMON_STATES_H_
#define JEPALAB_PROTO_COMMON_STATES_H_

#include "proto/common.pb.h"

namespace jepalab::common {

// True for SUCCEEDED, EARLY_STOPPED, DIVERGED, FAILED and CANCELLED: the run will not change
// again (a retry is a new attempt).
bool IsTerminal(v1::RunState state);

}  // namespace jepalab::common

#endif  // JEPALAB_PROTO_COMMON_STATES_H_
