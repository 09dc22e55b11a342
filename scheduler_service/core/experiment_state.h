// The rules that turn run states into an experiment's state: which states are terminal, what
// an experiment is once its runs ended, and how a collapse stop reads. Pure functions.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_STATE_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_STATE_H_

#include <string>

#include "proto/common.pb.h"
#include "proto/scheduler.pb.h"
// Terminal states: common::IsTerminal(RunState), scheduler::IsTerminal(ExperimentState).
#include "proto/common_states.h"
#include "proto/scheduler_states.h"

namespace jepalab::scheduler {

using ::jepalab::scheduler::v1::ExperimentState;
using ::jepalab::scheduler::v1::RunRecord;

// The state `experiment` should be in given its runs. A terminal experiment (a cancelled one in
// particular) keeps its state; a run stopped on a collapse counts as failed, not cancelled.
ExperimentState ComputeExperimentState(const v1::Experiment& experiment);

// Terminal, and every run has ended.
bool IsExperimentFinished(const v1::Experiment& experiment);

// "stopped: collapsed (<indicator>) at step <step>": RunRecord.message of a run stopped on a
// confirmed collapse.
std::string CollapseStopMessage(const v1::CollapseStop& stop);

// Keeps the collapse stop's message over the trainer's own ("cancelled by request") while the
// run is active or ended CANCELLED.
void KeepCollapseStopMessage(RunRecord& run);

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_STATE_H_
