#include "cli/command_table.h"

#include <cstdlib>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/command_help.h"
#include "cli/health_commands.h"
#include "cli/plan_commands.h"
#include "cli/report_commands.h"
#include "cli/run_commands.h"
#include "cli/schedule_commands.h"
#include "cli/sweep_commands.h"
#include "cli/version.h"
#include "common/grpc_channel.h"

namespace jepalab::cli {
namespace {

absl::Status Version(const ParsedArgs&, const Endpoints&, CommandIo& io) {
  io.out << kVersion << "\n";
  return absl::OkStatus();
}

// What the command line asks, read before any flag is checked.
struct Request {
  std::vector<std::string> words;  // the non-flag words: the command's name, then its arguments
  bool help = false;               // --help or -h
  bool version = false;            // --version
};

// A lenient first pass that knows every command's value flags, so that a flag's value is not
// taken for a word; unknown flags are left to the command's own (strict) parse.
Request Scan(const std::vector<std::string>& args) {
  std::set<std::string> values;        // --name that take a value
  std::set<std::string> short_values;  // -x that take a value
  auto note = [&](const FlagSpec& flag) {
    if (flag.value.empty()) return;
    values.insert(flag.name);
    if (!flag.short_name.empty()) short_values.insert(flag.short_name);
  };
  for (const FlagSpec& flag : GlobalFlags()) note(flag);
  for (const CommandSpec& command : Commands()) {
    for (const FlagSpec& flag : command.flags) note(flag);
  }
  Request request;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      request.words.insert(request.words.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      request.help = true;
    } else if (arg == "--version") {
      request.version = true;
    } else if (arg.size() > 2 && absl::StartsWith(arg, "--")) {
      if (arg.find('=') == std::string::npos && values.count(arg.substr(2))) ++i;
    } else if (arg.size() == 2 && arg[0] == '-' && short_values.count(arg.substr(1))) {
      ++i;
    } else {
      request.words.push_back(arg);
    }
  }
  return request;
}

// The command named by the first one or two words; null if none.
const CommandSpec* Find(const std::vector<std::string>& words) {
  for (const CommandSpec& command : Commands()) {
    if (command.name == words[0] ||
        (words.size() > 1 && command.name == absl::StrCat(words[0], " ", words[1]))) {
      return &command;
    }
  }
  return nullptr;
}

// The commands named "<group> ...": every "plan ..." for "plan".
std::vector<const CommandSpec*> Group(const std::string& group) {
  std::vector<const CommandSpec*> members;
  for (const CommandSpec& command : Commands()) {
    if (absl::StartsWith(command.name, group + " ")) members.push_back(&command);
  }
  return members;
}

// The command's own parse: global and its flags only; its name's words dropped from the
// positional arguments.
absl::StatusOr<ParsedArgs> ParseCommandArgs(const CommandSpec& command,
                                            const std::vector<std::string>& args) {
  std::set<std::string> values, switches;
  std::map<std::string, std::string> shorts;
  for (const std::vector<FlagSpec>* flags : {&GlobalFlags(), &command.flags}) {
    for (const FlagSpec& flag : *flags) {
      (flag.value.empty() ? switches : values).insert(flag.name);
      if (!flag.short_name.empty()) shorts[flag.short_name] = flag.name;
    }
  }
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, values, switches, shorts);
  if (!parsed.ok()) return parsed;
  // Both passes skip the same flags' values, so these are Scan()'s words, except where a short
  // flag of another command (-o) stands before the name: this parse takes it for a word.
  std::vector<std::string> words = {parsed->command};
  words.insert(words.end(), parsed->positional.begin(), parsed->positional.end());
  const std::vector<std::string> name = absl::StrSplit(command.name, ' ');
  for (size_t i = 0; i < name.size(); ++i) {
    if (i >= words.size() || words[i] != name[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected \"", i < words.size() ? words[i] : "", "\""));
    }
  }
  parsed->positional.erase(parsed->positional.begin(),
                           parsed->positional.begin() + (name.size() - 1));
  parsed->command = command.name;
  return parsed;
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = [] {
    auto* all = new std::vector<CommandSpec>;
    for (auto area : {HealthCommands, RunCommands, SweepCommands, PlanCommands, ScheduleCommands,
                      ReportCommands}) {
      for (CommandSpec& command : area()) all->push_back(std::move(command));
    }
    all->push_back(
        {"version", "", "the CLI's version (also: jepalab --version)", {}, 0, 0, Version});
    return all;
  }();
  return *commands;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = [] {
    const Endpoints defaults;
    return new std::vector<FlagSpec>{
        {"scheduler", "HOST:PORT",
         absl::StrCat("the scheduler (default ", defaults.scheduler, ")")},
        {"trainer", "HOST:PORT",
         absl::StrCat("the trainer, for health (default ", defaults.trainer, ")")},
        {"metrics", "HOST:PORT", absl::StrCat("metrics_service (default ", defaults.metrics, ")")},
        {"timeout", "SECONDS",
         absl::StrCat("deadline of each call (default ", defaults.timeout_seconds, ")")},
        {"tls_ca_file", "CA.pem", "speak TLS to every service, verifying it against CA.pem"},
        {"auth_token_file", "TOKEN_FILE",
         "send this file's bearer token (default: $JEPALAB_TOKEN_FILE)"},
    };
  }();
  return *flags;
}

absl::StatusOr<Endpoints> EndpointsFromFlags(const ParsedArgs& args) {
  Endpoints endpoints;
  endpoints.scheduler = args.Get("scheduler", endpoints.scheduler);
  endpoints.trainer = args.Get("trainer", endpoints.trainer);
  endpoints.metrics = args.Get("metrics", endpoints.metrics);
  if (!absl::SimpleAtod(args.Get("timeout", absl::StrCat(endpoints.timeout_seconds)),
                        &endpoints.timeout_seconds) ||
      endpoints.timeout_seconds <= 0) {
    return UsageError("--timeout: expected a positive number of seconds");
  }
  const char* env_token_file = std::getenv("JEPALAB_TOKEN_FILE");
  common::ClientSecurityOptions security;
  security.tls_ca_file = args.Get("tls_ca_file", "");
  security.auth_token_file = args.Get("auth_token_file", env_token_file ? env_token_file : "");
  absl::StatusOr<common::ClientSecurity> loaded = common::LoadClientSecurity(security);
  if (!loaded.ok()) return UsageError(absl::StrCat("--", loaded.status().message()));
  endpoints.security = *std::move(loaded);
  return endpoints;
}

int RunJepalab(const std::vector<std::string>& args, CommandIo& io) {
  Request request = Scan(args);
  if (!request.words.empty() && request.words[0] == "help") {
    request.help = true;
    request.words.erase(request.words.begin());
  }
  if (request.version && !request.help) {
    io.out << kVersion << "\n";
    return 0;
  }
  if (request.words.empty()) {
    io.out << TopUsage(Commands(), GlobalFlags());
    return request.help ? 0 : 2;
  }
  const CommandSpec* command = Find(request.words);
  if (command == nullptr) {
    const std::vector<const CommandSpec*> group = Group(request.words[0]);
    if (group.empty()) {
      io.err << "jepalab: unknown command \"" << request.words[0] << "\"\n"
             << TopUsage(Commands(), GlobalFlags());
      return 2;
    }
    if (request.words.size() == 1) {
      (request.help ? io.out : io.err) << UsageLines(group);
      return request.help ? 0 : 2;
    }
    io.err << "jepalab: unknown command \"" << request.words[0] << " " << request.words[1] << "\"\n"
           << UsageLines(group);
    return 2;
  }
  if (request.help) {
    io.out << CommandHelp(*command);
    return 0;
  }
  absl::StatusOr<ParsedArgs> parsed = ParseCommandArgs(*command, args);
  if (!parsed.ok()) {
    io.err << "jepalab " << command->name << ": " << parsed.status().message() << " (see jepalab "
           << command->name << " --help)\n";
    return 2;
  }
  const int given = static_cast<int>(parsed->positional.size());
  if (given < command->min_args || (command->max_args >= 0 && given > command->max_args)) {
    io.err << UsageLine(*command);
    return 2;
  }
  absl::StatusOr<Endpoints> endpoints = EndpointsFromFlags(*parsed);
  absl::Status status = endpoints.ok() ? command->run(*parsed, *endpoints, io) : endpoints.status();
  if (!status.ok() && !status.message().empty()) io.err << "jepalab: " << status.message() << "\n";
  return ExitCode(status);
}

}  // namespace jepalab::cli
