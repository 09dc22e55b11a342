// The runs area of the command table: submit, list, status, watch, cancel, metrics, compare.
#ifndef JEPALAB_CLI_RUN_COMMANDS_H_
#define JEPALAB_CLI_RUN_COMMANDS_H_

#include <vector>

#include "cli/command_spec.h"

namespace jepalab::cli {

std::vector<CommandSpec> RunCommands();

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_RUN_COMMANDS_H_
