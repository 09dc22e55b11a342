// The schedules area of the command table: schedule add|list|show|pause|resume|delete, cron
// schedules over the scheduler's RPCs.
#ifndef JEPALAB_CLI_SCHEDULE_COMMANDS_H_
#define JEPALAB_CLI_SCHEDULE_COMMANDS_H_

#include <vector>

#include "cli/command_spec.h"

namespace jepalab::cli {

std::vector<CommandSpec> ScheduleCommands();

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_SCHEDULE_COMMANDS_H_
