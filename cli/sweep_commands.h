// The sweeps area of the command table: `sweep submit FILE [--watch]`, a sweep file
// (configs/sweeps/, schema proto/config/sweep_config.proto) as one SubmitSweep.
#ifndef JEPALAB_CLI_SWEEP_COMMANDS_H_
#define JEPALAB_CLI_SWEEP_COMMANDS_H_

#include <vector>

#include "cli/command_spec.h"

namespace jepalab::cli {

std::vector<CommandSpec> SweepCommands();

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_SWEEP_COMMANDS_H_
