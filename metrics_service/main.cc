// metrics_server: the metrics_service binary. Stores metric history in SQLite under --data_dir,
// serves the gRPC API on --host:--port and Prometheus /metrics on --http_host:--http_port.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/grpc_server.h"
#include "common/logging.h"
#include "common/rpc_auth.h"
#include "common/yaml_proto.h"
#include "config/metrics_service_config.h"
#include "metrics_service/core/collapse_monitor.h"
#include "metrics_service/core/metrics_core.h"
#include "metrics_service/core/prometheus_metrics.h"
#include "metrics_service/core/run_store.h"
#include "metrics_service/server/metrics_service_impl.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "proto/config/metrics_service_config.pb.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address the gRPC server binds.");
ABSL_FLAG(int, port, 50053, "gRPC port; 0 picks a free one (see --port_file).");
ABSL_FLAG(std::string, port_file, "", "If set, the bound gRPC port is written here.");
ABSL_FLAG(std::string, http_host, "127.0.0.1", "Address the Prometheus /metrics endpoint binds.");
ABSL_FLAG(int, http_port, 9464, "Prometheus HTTP port; 0 picks a free one.");
ABSL_FLAG(std::string, http_port_file, "", "If set, the bound HTTP port is written here.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain; with --tls_key_file the server speaks TLS only.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, auth_token_file, "",
          "File holding a bearer token: mutating RPCs without \"authorization: Bearer <token>\" "
          "fail UNAUTHENTICATED (read-only RPCs and health stay open).");
ABSL_FLAG(std::string, data_dir, "./.jepalab/metrics",
          "Folder of the metrics database (created if missing).");
ABSL_FLAG(int64_t, finished_run_retention_seconds, 300,
          "How long a finished run's series stay on /metrics before removal.");
ABSL_FLAG(std::string, config, "",
          "Optional YAML MetricsServiceConfig (proto/config/metrics_service_config.proto): "
          "collapse detector thresholds. Unset keys keep their defaults.");
ABSL_FLAG(std::vector<std::string>, config_override, {},
          "Comma-separated dotted.key=value overrides of --config, e.g. "
          "collapse_detectors.rank.collapsed_below=1.5.");
ABSL_FLAG(absl::Duration, keepalive_time, jepalab::common::KeepaliveOptions().time,
          "Keepalive: ping a client after this long without traffic (>= 1s), so that a frozen "
          "or lost client's open streams are cancelled.");
ABSL_FLAG(absl::Duration, keepalive_timeout, jepalab::common::KeepaliveOptions().timeout,
          "An unanswered keepalive ping drops the connection, and its calls, after this long.");

namespace jepalab::metrics {

using ::jepalab::config::LoadMetricsServiceConfigFile;
namespace {

constexpr char kDatabaseFile[] = "metrics.db";
constexpr double kShutdownGraceSeconds = 5;

struct HttpEndpoint {
  std::unique_ptr<prometheus::Exposer> exposer;
  int port = 0;
};

// prometheus-cpp (civetweb) reports a failed bind by throwing; catch it here so that nothing
// throws past this function.
absl::StatusOr<HttpEndpoint> StartExposer(const std::string& host, int port,
                                          const std::shared_ptr<prometheus::Registry>& registry) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("http_port: must be in [0, 65535], got ", port));
  }
  const std::string address = absl::StrCat(host, ":", port);
  HttpEndpoint endpoint;
  try {
    endpoint.exposer = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve /metrics on ", address, ": ", e.what()));
  }
  endpoint.exposer->RegisterCollectable(registry);
  const std::vector<int> ports = endpoint.exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot serve /metrics on ", address));
  }
  endpoint.port = ports.front();
  return endpoint;
}

int Run() {
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  const int64_t retention_seconds = absl::GetFlag(FLAGS_finished_run_retention_seconds);
  if (retention_seconds < 0) {
    LOG(ERROR) << "metrics_server: finished_run_retention_seconds: must be >= 0, got "
               << retention_seconds;
    return 1;
  }
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    LOG(ERROR) << "metrics_server: data_dir: cannot create " << data_dir << ": " << error.message();
    return 1;
  }
  absl::StatusOr<config::v1::MetricsServiceConfig> config = LoadMetricsServiceConfigFile(
      absl::GetFlag(FLAGS_config), absl::GetFlag(FLAGS_config_override));
  if (!config.ok()) {
    LOG(ERROR) << "metrics_server: " << config.status().message();
    return 1;
  }
  const std::string db_path = (std::filesystem::path(data_dir) / kDatabaseFile).string();
  LOG(INFO) << "metrics_server config: host=" << absl::GetFlag(FLAGS_host)
            << " port=" << absl::GetFlag(FLAGS_port)
            << " http_host=" << absl::GetFlag(FLAGS_http_host)
            << " http_port=" << absl::GetFlag(FLAGS_http_port) << " database=" << db_path
            << " finished_run_retention_seconds=" << retention_seconds << "\n"
            << common::MessageToYaml(*config);

  absl::StatusOr<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Create(db_path);
  if (!store.ok()) {
    LOG(ERROR) << "metrics_server: " << store.status();
    return 1;
  }
  common::SystemClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  PrometheusMetrics metrics(*registry, {/*finished_run_retention_ms=*/retention_seconds * 1000});
  CollapseMonitor monitor(config->collapse_detectors());
  MetricsCore core(store->get(), &metrics, &clock, &monitor);
  if (absl::Status restored = core.RestoreRuns(); !restored.ok()) {
    LOG(ERROR) << "metrics_server: restoring runs from " << db_path << ": " << restored;
    return 1;
  }

  absl::StatusOr<HttpEndpoint> http =
      StartExposer(absl::GetFlag(FLAGS_http_host), absl::GetFlag(FLAGS_http_port), registry);
  if (!http.ok()) {
    LOG(ERROR) << "metrics_server: " << http.status();
    return 1;
  }
  if (const std::string file = absl::GetFlag(FLAGS_http_port_file); !file.empty()) {
    if (absl::Status written = common::WritePortFile(file, http->port); !written.ok()) {
      LOG(ERROR) << "metrics_server: http_port_file: " << written;
      return 1;
    }
  }

  absl::StatusOr<common::RpcAuthorizer> authorizer =
      common::RpcAuthorizer::FromTokenFile("auth_token_file", absl::GetFlag(FLAGS_auth_token_file));
  if (!authorizer.ok()) {
    LOG(ERROR) << "metrics_server: " << authorizer.status();
    return 1;
  }
  MetricsServiceImpl service(&core, *authorizer);
  common::GrpcServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.keepalive = {absl::GetFlag(FLAGS_keepalive_time), absl::GetFlag(FLAGS_keepalive_timeout)};
  absl::StatusOr<std::unique_ptr<common::GrpcServer>> server =
      common::GrpcServer::Start(options, {&service});
  if (!server.ok()) {
    LOG(ERROR) << "metrics_server: " << server.status();
    return 1;
  }
  LOG(INFO) << "metrics_server: gRPC on " << (*server)->address()
            << (options.tls_cert_file.empty() ? " (plaintext" : " (TLS")
            << (authorizer->enabled() ? ", token required for mutating RPCs)" : ", no token)")
            << ", Prometheus on http://" << absl::GetFlag(FLAGS_http_host) << ":" << http->port
            << "/metrics";

  // Finished runs leave /metrics on a timer; a tenth of the retention keeps the overshoot small.
  const absl::Duration expiry_interval =
      std::clamp(absl::Seconds(retention_seconds) / 10, absl::Seconds(1), absl::Seconds(10));
  absl::Notification stop;
  std::thread expirer([&] {
    while (!stop.WaitForNotificationWithTimeout(expiry_interval)) {
      const int expired = core.ExpireFinishedRuns();
      if (expired > 0) LOG(INFO) << "removed the series of " << expired << " finished run(s)";
    }
  });

  const int signal = common::WaitForTerminationSignal();
  LOG(INFO) << "metrics_server: signal " << signal << ", shutting down";
  (*server)->Shutdown(kShutdownGraceSeconds);
  stop.Notify();
  expirer.join();
  return 0;
}

}  // namespace
}  // namespace jepalab::metrics

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the blocked mask and only
  // WaitForTerminationSignal sees SIGTERM/SIGINT.
  jepalab::common::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  jepalab::common::InitLogging(argv[0]);
  return jepalab::metrics::Run();
}
