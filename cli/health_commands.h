// The services area of the command table: `health`.
#ifndef JEPALAB_CLI_HEALTH_COMMANDS_H_
#define JEPALAB_CLI_HEALTH_COMMANDS_H_

#include <vector>

#include "cli/command_spec.h"

namespace jepalab::cli {

std::vector<CommandSpec> HealthCommands();

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_HEALTH_COMMANDS_H_
