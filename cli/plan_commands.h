// The plans area of the command table: plan run|watch|status|verdict|list|cancel. The plan
// helpers are shared with `report`.
#ifndef JEPALAB_CLI_PLAN_COMMANDS_H_
#define JEPALAB_CLI_PLAN_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/command_spec.h"
#include "cli/endpoints.h"
#include "proto/scheduler.pb.h"

namespace jepalab::cli {

std::vector<CommandSpec> PlanCommands();

// RUNNING, SUCCEEDED, FAILED, CANCELLED; UNKNOWN otherwise.
std::string PlanStateName(scheduler::v1::PlanState state);

// The scheduler's GetPlan; a failure is RpcError's status (NotFound for an unknown id).
absl::StatusOr<scheduler::v1::Plan> GetPlan(const std::string& id, const Endpoints& e);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_PLAN_COMMANDS_H_
