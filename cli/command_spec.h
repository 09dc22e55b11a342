// One row of the jepalab command table: a command's name, usage, flags and what it runs. Each area
// file (run_commands.cc, plan_commands.cc, ...) returns its rows; command_table.cc dispatches.
#ifndef JEPALAB_CLI_COMMAND_SPEC_H_
#define JEPALAB_CLI_COMMAND_SPEC_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/arg_parser.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

struct FlagSpec {
  std::string name;        // without the dashes: "max_points"
  std::string value;       // placeholder of its value ("N"); empty: a switch
  std::string help;        // one line
  bool repeated = false;   // may be given several times
  std::string short_name;  // one letter, "o" for -o; empty: none
};

// Where a command writes: results to `out`, errors to `err`.
struct CommandIo {
  std::ostream& out;
  std::ostream& err;
  bool stdout_is_tty = false;  // redraw progress in place rather than print log lines
};

// A command's result; ExitCode() turns it into the exit status.
using CommandFn = std::function<absl::Status(const ParsedArgs&, const Endpoints&, CommandIo&)>;

struct CommandSpec {
  std::string name;      // one or two words: "cancel", "plan run"
  std::string synopsis;  // what follows the name in its usage line: "EXPERIMENT_ID"; may wrap (\n)
  std::string summary;   // what it does; may span lines (`jepalab help` indents them)
  std::vector<FlagSpec> flags;
  int min_args = 0;  // positional arguments after the name
  int max_args = 0;  // -1: no limit
  CommandFn run;
};

// A wrong invocation (bad flag value, missing flag): exit 2 rather than 1.
absl::Status UsageError(const std::string& message);
// The command did its job, but what it followed failed and its output already says so (a watched
// experiment ended FAILED, a service is not serving): exit 1, nothing more on stderr.
absl::Status Unsuccessful();

// 0 for OK, 2 for a UsageError, else 1.
int ExitCode(const absl::Status& status);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_COMMAND_SPEC_H_
