// jepalab: the command-line client of jepa-lab's services (see `jepalab help`).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "cli/arg_parser.h"
#include "cli/commands.h"
#include "common/grpc_channel.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = jepalab::cli::ParseArgs(args, jepalab::cli::ValueFlags(), jepalab::cli::SwitchFlags(),
                                       jepalab::cli::ShortFlags());
  if (!parsed.ok()) {
    std::cerr << "jepalab: " << parsed.status().message() << "\n";
    return 2;
  }
  jepalab::cli::Endpoints endpoints;
  endpoints.scheduler = parsed->Get("scheduler", endpoints.scheduler);
  endpoints.trainer = parsed->Get("trainer", endpoints.trainer);
  endpoints.metrics = parsed->Get("metrics", endpoints.metrics);
  if (!absl::SimpleAtod(parsed->Get("timeout", "30"), &endpoints.timeout_seconds) ||
      endpoints.timeout_seconds <= 0) {
    std::cerr << "jepalab: --timeout: expected a positive number of seconds\n";
    return 2;
  }
  // The token file comes from the flag, else from $JEPALAB_TOKEN_FILE.
  const char* env_token_file = std::getenv("JEPALAB_TOKEN_FILE");
  jepalab::common::ClientSecurityOptions security;
  security.tls_ca_file = parsed->Get("tls_ca_file", "");
  security.auth_token_file = parsed->Get("auth_token_file", env_token_file ? env_token_file : "");
  auto loaded = jepalab::common::LoadClientSecurity(security);
  if (!loaded.ok()) {
    std::cerr << "jepalab: --" << loaded.status().message() << "\n";
    return 2;
  }
  endpoints.security = *std::move(loaded);
  return jepalab::cli::RunCommand(*parsed, endpoints, isatty(STDOUT_FILENO) == 1, std::cout, std::cerr);
}
