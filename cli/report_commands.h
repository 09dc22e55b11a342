// The reports area of the command table: `report ID`, a self-contained HTML page of a plan, an
// experiment or a sweep.
#ifndef JEPALAB_CLI_REPORT_COMMANDS_H_
#define JEPALAB_CLI_REPORT_COMMANDS_H_

#include <vector>

#include "cli/command_spec.h"

namespace jepalab::cli {

std::vector<CommandSpec> ReportCommands();

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_REPORT_COMMANDS_H_
