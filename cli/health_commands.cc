#include "cli/health_commands.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/rpc_helpers.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace jepalab::cli {
namespace {

// One line per service, on stdout when SERVING and on stderr otherwise; OK iff all three serve.
absl::Status Health(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  const double wait_seconds = [&] {
    double v = 0;
    return absl::SimpleAtod(args.Get("wait", "0"), &v) ? v : 0.0;
  }();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(wait_seconds * 1000));
  int failures = 0;
  for (const auto& [name, address] : std::vector<std::pair<std::string, std::string>>{
           {"scheduler", e.scheduler}, {"trainer", e.trainer}, {"metrics", e.metrics}}) {
    auto stub = grpc::health::v1::Health::NewStub(Connect(address, e));
    std::string result;
    while (true) {
      grpc::ClientContext context;
      SetDeadline(context, std::min(e.timeout_seconds, 5.0));
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      grpc::Status status = stub->Check(&context, request, &response);
      if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        result = "SERVING";
        break;
      }
      result =
          status.ok() ? "NOT_SERVING" : absl::StrCat("UNREACHABLE (", status.error_message(), ")");
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (result != "SERVING") ++failures;
    (result == "SERVING" ? io.out : io.err)
        << absl::StrFormat("%-10s %-21s %s\n", name, address, result);
  }
  return failures == 0 ? absl::OkStatus() : Unsuccessful();
}

}  // namespace

std::vector<CommandSpec> HealthCommands() {
  return {
      {"health",
       "",
       "health of the three services (exit 0 iff all are SERVING)",
       {{"wait", "SECONDS", "retry for up to SECONDS until each is SERVING (default 0)"}},
       0,
       0,
       Health},
  };
}

}  // namespace jepalab::cli
