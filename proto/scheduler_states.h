// Helpers on the scheduler's state enums (scheduler.proto), so the scheduler, its tests and the
// CLI agree which states end an experiment or a plan.
#ifndef JEPALAB_PROTO_SCHEDULER_STATES_H_
#define JEPALAB_PROTO_SCHEDULER_STATES_H_

#include "proto/scheduler.pb.h"

namespace jepalab::scheduler {

// True for SUCCEEDED, FAILED and CANCELLED.
bool IsTerminal(v1::ExperimentState state);

// True for SUCCEEDED, FAILED and CANCELLED.
bool IsTerminal(v1::PlanState state);

}  // namespace jepalab::scheduler

#endif  // JEPALAB_PROTO_SCHEDULER_STATES_H_
