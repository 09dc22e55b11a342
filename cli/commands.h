// The jepalab CLI's commands: each turns parsed arguments into RPCs and prints the result.
// Results go to `out`, errors to `err`; the return value is the process exit code.
#ifndef JEPALAB_CLI_COMMANDS_H_
#define JEPALAB_CLI_COMMANDS_H_

#include <map>
#include <ostream>
#include <set>
#include <string>

#include "common/grpc_channel.h"
#include "cli/arg_parser.h"

namespace jepalab::cli {

struct Endpoints {
  std::string scheduler = "127.0.0.1:50051";
  std::string trainer = "127.0.0.1:50052";
  std::string metrics = "127.0.0.1:50053";
  double timeout_seconds = 30;
  common::ClientSecurity security;  // TLS CA and bearer token; empty: plaintext, no token
};

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
