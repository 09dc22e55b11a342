#include "proto/scheduler_states.h"

namespace jepalab::scheduler {

bool IsTerminal(v1::ExperimentState state) {
  switch (state) {
    case v1::EXPERIMENT_STATE_SUCCEEDED:
    case v1::EXPERIMENT_STATE_FAILED:
    case v1::EXPERIMENT_STATE_CANCELLED:
      return true;
    default:
      return false;
  }
}

bool IsTerminal(v1::PlanState state) {
  switch (state) {
    case v1::PLAN_STATE_SUCCEEDED:
    case v1::PLAN_STATE_FAILED:
    case v1::PLAN_STATE_CANCELLED:
      return true;
    default:
      return false;
  }
}

}  // namespace jepalab::scheduler
