// The CLI's help texts, generated from the command table so they cannot drift from the flags a
// command accepts.
#ifndef JEPALAB_CLI_COMMAND_HELP_H_
#define JEPALAB_CLI_COMMAND_HELP_H_

#include <string>
#include <vector>

#include "cli/command_spec.h"

namespace jepalab::cli {

// "usage: jepalab NAME SYNOPSIS [--flag VALUE] ...\n". A synopsis that names flags itself (an
// either/or) stands alone.
std::string UsageLine(const CommandSpec& command);

// `jepalab NAME --help`: the usage line, the summary, each flag, and a pointer to the global flags.
std::string CommandHelp(const CommandSpec& command);

// The usage lines of `commands` (a group such as every "plan ..." command).
std::string UsageLines(const std::vector<const CommandSpec*>& commands);

// `jepalab help`: every command with its summary, then the global flags.
std::string TopUsage(const std::vector<CommandSpec>& commands,
                     const std::vector<FlagSpec>& global_flags);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_COMMAND_HELP_H_
