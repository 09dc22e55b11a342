// jepalab's command table and its dispatcher: finds the command (one or two words), answers
// --help/-h, `help [COMMAND]` and --version before anything else, checks the command's flags and
// arguments, then runs it against the services the global flags name.
#ifndef JEPALAB_CLI_COMMAND_TABLE_H_
#define JEPALAB_CLI_COMMAND_TABLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/arg_parser.h"
#include "cli/command_spec.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

// Every command, in the order `jepalab help` lists them.
const std::vector<CommandSpec>& Commands();

// Flags every command accepts, before or after its name: where the services are, TLS, token.
const std::vector<FlagSpec>& GlobalFlags();

// The endpoints the global flags name (the token file defaults to $JEPALAB_TOKEN_FILE). A
// UsageError for a bad --timeout or an unreadable TLS/token file.
absl::StatusOr<Endpoints> EndpointsFromFlags(const ParsedArgs& args);

// Runs `jepalab ARGS...` and returns its exit code: 0 success, 1 failure, 2 usage error. Usage
// and --help go to io.out, errors to io.err.
int RunJepalab(const std::vector<std::string>& args, CommandIo& io);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_COMMAND_TABLE_H_
