// `jepalab schedule ...`: cron schedules over the scheduler's RPCs. Same contract as commands.h: results to `out`, errors to `err`, exit code.
#ifndef JEPALAB_CLI_SCHEDULE_COMMANDS_H_
#define JEPALAB_CLI_SCHEDULE_COMMANDS_H_

#include <ostream>

#include "cli/arg_parser.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

// schedule add NAME --cron EXPR (--plan FILE [--mini] [--seed N ...] | --sweep FILE
//   [--stop_on_collapse]) [--paused]; schedule list|show NAME|pause NAME|resume NAME|delete NAME.
int ScheduleCommand(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_SCHEDULE_COMMANDS_H_
