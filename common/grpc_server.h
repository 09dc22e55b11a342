// Starting a gRPC server the way every jepa-lab service does: loopback by default, port 0
// allowed, bound port written to a file, standard health service and server reflection on,
// keepalive pings both ways.
#ifndef JEPALAB_COMMON_GRPC_SERVER_H_
#define JEPALAB_COMMON_GRPC_SERVER_H_

#include <grpcpp/server.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/grpc_channel.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace jepalab::common {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;           // 0: any free port
  std::string port_file;  // if set, the bound port is written here (atomically)
  // Larger requests (and responses) fail with RESOURCE_EXHAUSTED.
  int max_message_bytes = 16 << 20;
  // HTTP/2 streams one client connection may have open at once (further calls wait).
  int max_concurrent_streams = 100;
  // Handler threads in all; calls that find none free fail with RESOURCE_EXHAUSTED. Long-lived
  // streams (watch, metric reports) each hold one while open.
  int max_threads = 256;
  // Both set: TLS with this PEM certificate chain and private key; both empty: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Server-side pings: a client that froze or vanished mid-stream has its calls cancelled.
  // Client pings are accepted down to kMinKeepaliveTime whatever this says.
  KeepaliveOptions keepalive;
};

// Owns a started grpc::Server. Thread-safe.
class GrpcServer {
 public:
  // Registers `services` (not owned; they must outlive the server), binds and starts.
  // Unavailable if the address cannot be bound; InvalidArgument / NotFound naming the option
  // for a bad limit or keepalive or an unreadable or half-given TLS file pair.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  std::string address() const { return address_; }

  // Health goes NOT_SERVING, then in-flight calls get `grace_seconds` to finish.
  void Shutdown(double grace_seconds);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port, std::string address)
      : server_(std::move(server)), port_(port), address_(std::move(address)) {}

  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::string address_;
};

// Writes "<port>\n" to `path` via a temporary file and rename, so readers never see it half.
absl::Status WritePortFile(const std::string& path, int port);

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards.
// Call first thing in main(), before any thread exists.
void BlockTerminationSignals();

// Waits until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_GRPC_SERVER_H_
