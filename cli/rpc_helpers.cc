#include "cli/rpc_helpers.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/command_spec.h"
#include "common/file_util.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"

namespace jepalab::cli {

std::shared_ptr<grpc::Channel> Connect(const std::string& address, const Endpoints& e) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return common::CreateClientChannel(address, e.security, args);
}

void SetDeadline(grpc::ClientContext& context, double seconds) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

absl::Status RpcError(const std::string& what, const std::string& address,
                      const grpc::Status& status) {
  const absl::Status s = common::FromGrpcStatus(status);
  std::string message = absl::StrCat(what, " (", address, "): ", absl::StatusCodeToString(s.code()),
                                     ": ", s.message());
  if (s.code() == absl::StatusCode::kUnavailable) {
    absl::StrAppend(
        &message,
        "\n  is the service running? Start all three with tools/quickstart.sh, or pass --",
        what.find("metrics") != std::string::npos ? "metrics" : "scheduler", "=HOST:PORT");
  }
  return absl::Status(s.code(), message);
}

absl::Status ReadInputFile(const std::string& what, const std::string& path, std::string* text) {
  absl::StatusOr<std::string> read = common::ReadFile(path);
  if (!read.ok())
    return absl::Status(read.status().code(), absl::StrCat("cannot read ", what, " ", path));
  *text = *std::move(read);
  return absl::OkStatus();
}

absl::StatusOr<int> ParsePriority(const ParsedArgs& args) {
  absl::StatusOr<int> value = args.GetInt("priority", 0);
  if (!value.ok()) return UsageError(std::string(value.status().message()));
  return value;
}

absl::StatusOr<std::vector<int64_t>> ParseSeeds(const ParsedArgs& args) {
  std::vector<int64_t> seeds;
  for (const std::string& text : args.GetAll("seed")) {
    int64_t seed = 0;
    if (!absl::SimpleAtoi(text, &seed)) {
      return UsageError(absl::StrCat("--seed: expected an integer, got \"", text, "\""));
    }
    seeds.push_back(seed);
  }
  return seeds;
}

absl::StatusOr<int> ParseMaxPoints(const ParsedArgs& args, int fallback) {
  int max_points = 0;
  if (!absl::SimpleAtoi(args.Get("max_points", absl::StrCat(fallback)), &max_points) ||
      max_points < 0) {
    return UsageError("--max_points: expected a non-negative integer");
  }
  return max_points;
}

}  // namespace jepalab::cli
