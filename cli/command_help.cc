#include "cli/command_help.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace jepalab::cli {
namespace {

constexpr int kColumn = 35;  // where summaries and flag help start

// "--name VALUE", "-o, --output FILE" or "--switch".
std::string FlagTerm(const FlagSpec& flag) {
  std::string term = flag.short_name.empty() ? "" : absl::StrCat("-", flag.short_name, ", ");
  absl::StrAppend(&term, "--", flag.name, flag.value.empty() ? "" : absl::StrCat(" ", flag.value));
  return term;
}

// `left` padded to the column, then `text` with its later lines indented to the column.
std::string Columns(const std::string& left, const std::string& text) {
  const std::string indent(kColumn, ' ');
  const std::string body = absl::StrReplaceAll(text, {{"\n", "\n" + indent}});
  if (static_cast<int>(left.size()) + 1 > kColumn)
    return absl::StrCat(left, "\n", indent, body, "\n");
  return absl::StrFormat("%-*s%s\n", kColumn, left, body);
}

// The synopsis after `head`, its later lines indented under its first.
std::string Synopsis(const std::string& head, const std::string& synopsis) {
  if (synopsis.empty()) return head;
  return absl::StrCat(
      head, " ", absl::StrReplaceAll(synopsis, {{"\n", "\n" + std::string(head.size() + 1, ' ')}}));
}

}  // namespace

std::string UsageLine(const CommandSpec& command) {
  std::string line = Synopsis(absl::StrCat("usage: jepalab ", command.name), command.synopsis);
  if (command.synopsis.find("--") == std::string::npos) {
    for (const FlagSpec& flag : command.flags) {
      const std::string name = flag.short_name.empty() ? absl::StrCat("--", flag.name)
                                                       : absl::StrCat("-", flag.short_name);
      absl::StrAppend(&line, " [", name, flag.value.empty() ? "" : absl::StrCat(" ", flag.value),
                      flag.repeated ? " ...]" : "]");
    }
  }
  return line + "\n";
}

std::string CommandHelp(const CommandSpec& command) {
  std::string text = absl::StrCat(UsageLine(command), "\n", command.summary, "\n");
  if (!command.flags.empty()) {
    absl::StrAppend(&text, "\nflags:\n");
    for (const FlagSpec& flag : command.flags) {
      absl::StrAppend(&text, Columns(absl::StrCat("  ", FlagTerm(flag)), flag.help));
    }
  }
  absl::StrAppend(&text, "\nglobal flags (where the services are, TLS, token): see jepalab help\n");
  return text;
}

std::string UsageLines(const std::vector<const CommandSpec*>& commands) {
  std::string text;
  for (const CommandSpec* command : commands) absl::StrAppend(&text, UsageLine(*command));
  return text;
}

std::string TopUsage(const std::vector<CommandSpec>& commands,
                     const std::vector<FlagSpec>& global_flags) {
  std::string text =
      "jepalab: client for jepa-lab's scheduler, trainer and metrics services\n\n"
      "usage: jepalab COMMAND [ARGS] [FLAGS]   (global flags go before or after the command)\n"
      "       jepalab COMMAND --help           a command's usage and flags; contacts no service\n"
      "       jepalab help [COMMAND]\n"
      "       jepalab --version\n\n"
      "commands:\n";
  for (const CommandSpec& command : commands) {
    absl::StrAppend(&text, Columns(Synopsis(absl::StrCat("  ", command.name), command.synopsis),
                                   command.summary));
  }
  absl::StrAppend(&text, "\nglobal flags:\n");
  for (const FlagSpec& flag : global_flags) {
    absl::StrAppend(&text, Columns(absl::StrCat("  ", FlagTerm(flag)), flag.help));
  }
  absl::StrAppend(
      &text,
      "security: services started with --auth_token_file require the token for submit, cancel,\n"
      "          sweep submit, plan run|cancel and schedule add|pause|resume|delete\n");
  return text;
}

}  // namespace jepalab::cli
