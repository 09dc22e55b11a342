// The jepalab CLI's commands: each turns parsed arguments into RPCs and prints the result.
// Results go to `out`, errors to `err`; the return value is the process exit code.
#ifndef JEPALAB_CLI_COMMANDS_H_
#define JEPALAB_CLI_COMMANDS_H_

#include <map>
#include <ostream>
#include <set>
#include <string>

#include "cli/arg_parser.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

// Flags every command accepts, and the per-command ones.
const std::set<std::string>& ValueFlags();
const std::set<std::string>& SwitchFlags();
const std::map<std::string, std::string>& ShortFlags();  // "-o" -> --output

// Dispatches args.command. Unknown command: usage on `err`, exit code 2.
int RunCommand(const ParsedArgs& args, const Endpoints& endpoints, bool stdout_is_tty,
               std::ostream& out, std::ostream& err);

std::string Usage();

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_COMMANDS_H_
