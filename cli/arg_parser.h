// Command-line parsing for the jepalab CLI: a command, positional arguments and --flags that
// may repeat (--set a=1 --set b=2). Values may contain commas and '=' (YAML overrides do).
#ifndef JEPALAB_CLI_ARG_PARSER_H_
#define JEPALAB_CLI_ARG_PARSER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace jepalab::cli {

struct ParsedArgs {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;  // name -> values in order
  std::set<std::string> switches;                         // boolean flags that were given

  // Last value of `name`, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  // Last value of `name` as an integer, or `fallback` when absent; InvalidArgument naming the
  // flag when it is not one.
  absl::StatusOr<int> GetInt(const std::string& name, int fallback) const;
  bool Has(const std::string& name) const { return switches.count(name) > 0; }
};

// `value_flags` take a value (--name=value or --name value); `switch_flags` take none.
// `short_flags` maps a one-letter "-x" to a flag name ("o" -> "output"); other single-dash words
// stay positional. InvalidArgument for an unknown flag or a value flag without a value.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::set<std::string>& value_flags,
                                     const std::set<std::string>& switch_flags,
                                     const std::map<std::string, std::string>& short_flags = {});

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_ARG_PARSER_H_
