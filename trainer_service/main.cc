// trainer_server: serves jepalab.trainer.v1.TrainerService; every run trains in its own
// trainer_worker process. SIGTERM/SIGINT cancel the running runs, then the server exits 0.
#include <libgen.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/grpc_server.h"
#include "common/logging.h"
#include "common/rpc_auth.h"
#include "trainer_service/core/run_manager.h"
#include "trainer_service/server/trainer_service_impl.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "address to listen on");
ABSL_FLAG(int, port, 50052, "port to listen on; 0 picks a free one");
ABSL_FLAG(std::string, port_file, "", "if set, the bound port is written here");
ABSL_FLAG(std::string, data_dir, "./.jepalab/trainer", "run folders live under <data_dir>/runs/");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:50053",
          "metrics_service address; empty disables reporting");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain; with --tls_key_file the server speaks TLS only.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, auth_token_file, "",
          "File holding a bearer token: mutating RPCs without \"authorization: Bearer <token>\" "
          "fail UNAUTHENTICATED (read-only RPCs and health stay open). Workers also send it to "
          "metrics_service.");
ABSL_FLAG(
    std::string, tls_ca_file, "",
    "PEM CA that the TLS certificates of metrics_service must chain to; empty: plaintext to them.");
ABSL_FLAG(int, max_concurrent_runs, 1, "runs training at the same time");
ABSL_FLAG(int, threads_per_run, -1,
          "intra-op threads of a run whose config leaves training.num_threads at 0: -1 shares the "
          "cores among max_concurrent_runs (at least 1 each), 0 gives every run every core");
ABSL_FLAG(std::string, worker_binary, "", "trainer_worker path; default: next to this binary");
ABSL_FLAG(double, cancel_grace_seconds, 10, "SIGTERM -> SIGKILL grace for cancelled workers");
ABSL_FLAG(absl::Duration, keepalive_time, jepalab::common::KeepaliveOptions().time,
          "Keepalive: ping a client after this long without traffic (>= 1s), so that a frozen "
          "or lost client's open streams are cancelled.");
ABSL_FLAG(absl::Duration, keepalive_timeout, jepalab::common::KeepaliveOptions().timeout,
          "An unanswered keepalive ping drops the connection, and its calls, after this long.");

namespace {

std::string DirName(const std::string& path) {
  std::string copy = path;
  return dirname(copy.data());
}

// trainer_worker next to argv[0] (a Bazel runfiles symlink keeps its sibling), else next to
// the real executable.
std::string DefaultWorkerBinary(const char* argv0) {
  const std::string beside_argv0 = DirName(argv0) + "/trainer_worker";
  if (access(beside_argv0.c_str(), X_OK) == 0) return beside_argv0;
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    return DirName(exe) + "/trainer_worker";
  }
  return beside_argv0;
}

// Workers may run with another working directory: hand them absolute paths.
std::string AbsolutePath(const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

int Fail(const std::string& message) {
  std::cerr << "trainer_server: " << message << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  jepalab::common::BlockTerminationSignals();  // first: every thread inherits the mask
  absl::ParseCommandLine(argc, argv);
  jepalab::common::InitLogging(argv[0]);

  jepalab::trainer::RunManagerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.worker_binary = absl::GetFlag(FLAGS_worker_binary);
  if (options.worker_binary.empty()) options.worker_binary = DefaultWorkerBinary(argv[0]);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  // Read here so that a bad file stops startup rather than every run; workers get the paths.
  auto security = jepalab::common::LoadClientSecurity(
      {absl::GetFlag(FLAGS_tls_ca_file), absl::GetFlag(FLAGS_auth_token_file)});
  if (!security.ok()) return Fail(security.status().ToString());
  auto authorizer = jepalab::common::RpcAuthorizer::FromTokenFile(
      "auth_token_file", absl::GetFlag(FLAGS_auth_token_file));
  if (!authorizer.ok()) return Fail(authorizer.status().ToString());
  options.metrics_tls_ca_file = AbsolutePath(absl::GetFlag(FLAGS_tls_ca_file));
  options.metrics_auth_token_file = AbsolutePath(absl::GetFlag(FLAGS_auth_token_file));
  options.max_concurrent_runs = absl::GetFlag(FLAGS_max_concurrent_runs);
  // Runs at once on shared cores: each its share, so that no OpenMP thread waits for a core.
  options.threads_per_run = absl::GetFlag(FLAGS_threads_per_run);
  if (options.threads_per_run < 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    options.threads_per_run = std::max(1, cores / std::max(1, options.max_concurrent_runs));
  }
  options.cancel_grace = absl::Seconds(absl::GetFlag(FLAGS_cancel_grace_seconds));
  auto manager = jepalab::trainer::RunManager::Create(options);
  if (!manager.ok()) return Fail(manager.status().ToString());

  jepalab::trainer::TrainerServiceImpl service(
      manager->get(), /*stream_poll_interval=*/absl::Milliseconds(200), *authorizer);
  jepalab::common::GrpcServerOptions server_options;
  server_options.host = absl::GetFlag(FLAGS_host);
  server_options.port = absl::GetFlag(FLAGS_port);
  server_options.port_file = absl::GetFlag(FLAGS_port_file);
  server_options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  server_options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  server_options.keepalive = {absl::GetFlag(FLAGS_keepalive_time),
                              absl::GetFlag(FLAGS_keepalive_timeout)};
  auto server = jepalab::common::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) return Fail(server.status().ToString());
  LOG(INFO) << "trainer_server listening on " << (*server)->address() << "; data_dir "
            << options.data_dir << "; worker " << options.worker_binary << "; metrics_address \""
            << options.metrics_address << "\"; max_concurrent_runs " << options.max_concurrent_runs
            << "; threads_per_run " << options.threads_per_run
            << (server_options.tls_cert_file.empty() ? "; plaintext" : "; TLS")
            << (authorizer->enabled() ? "; token required for mutating RPCs" : "; no token");

  const int sig = jepalab::common::WaitForTerminationSignal();
  LOG(INFO) << "signal " << sig << ": cancelling running runs and shutting down";
  (*manager)->Shutdown();  // runs end CANCELLED; open event streams see their terminal event
  (*server)->Shutdown(/*grace_seconds=*/2);
  LOG(INFO) << "trainer_server stopped";
  return 0;
}
