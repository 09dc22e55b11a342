#include "cli/rpc_helpers.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
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

int ReportRpcError(std::ostream& err, const std::string& what, const std::string& address,
                   const grpc::Status& status) {
  const absl::Status s = common::FromGrpcStatus(status);
  err << "jepalab: " << what << " (" << address << "): " << absl::StatusCodeToString(s.code()) << ": "
      << s.message() << "\n";
  if (s.code() == absl::StatusCode::kUnavailable) {
    err << "  is the service running? Start all three with tools/quickstart.sh, or pass --"
        << (what.find("metrics") != std::string::npos ? "metrics" : "scheduler") << "=HOST:PORT\n";
  }
  return 1;
}

bool ReadFile(const std::string& path, std::string* text) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return true;
}

bool ParsePriority(const ParsedArgs& args, std::ostream& err, int* priority) {
  absl::StatusOr<int> value = args.GetInt("priority", 0);
  if (!value.ok()) {
    err << "jepalab: " << value.status().message() << "\n";
    return false;
  }
  *priority = *value;
  return true;
}

}  // namespace jepalab::cli
