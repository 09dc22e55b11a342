#include "cli/arg_parser.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace jepalab::cli {

std::string ParsedArgs::Get(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  return it == flags.end() || it->second.empty() ? fallback : it->second.back();
}

absl::StatusOr<int> ParsedArgs::GetInt(const std::string& name, int fallback) const {
  if (flags.count(name) == 0) return fallback;
  const std::string text = Get(name);
  int value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected an integer, got \"", text, "\""));
  }
  return value;
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  auto it = flags.find(name);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::set<std::string>& value_flags,
                                     const std::set<std::string>& switch_flags,
                                     const std::map<std::string, std::string>& short_flags) {
  ParsedArgs parsed;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!only_positional && arg.size() == 2 && arg[0] == '-' && short_flags.count(arg.substr(1))) {
      arg = "--" + short_flags.at(arg.substr(1));
    }
    if (only_positional || arg.size() < 2 || arg.rfind("--", 0) != 0) {
      if (parsed.command.empty() && !only_positional) {
        parsed.command = arg;
      } else {
        parsed.positional.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (switch_flags.count(name)) {
      if (has_value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      parsed.switches.insert(name);
    } else if (value_flags.count(name)) {
      if (!has_value) {
        if (i + 1 >= args.size())
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        value = args[++i];
      }
      parsed.flags[name].push_back(value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return parsed;
}

}  // namespace jepalab::cli
