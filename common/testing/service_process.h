// Test helper: runs a real service binary as a child process on 127.0.0.1:0 and waits until
// its gRPC health service reports SERVING. Used by the end-to-end tests in tests/.
#ifndef JEPALAB_COMMON_TESTING_SERVICE_PROCESS_H_
#define JEPALAB_COMMON_TESTING_SERVICE_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/testing/temp_dir.h"  // MakeTempDir, for the tests that start services

namespace jepalab::testing {

// Absolute path of a binary in this test's runfiles, e.g. "metrics_service/metrics_server".
std::string RunfilePath(const std::string& workspace_relative_path);

class ServiceProcess {
 public:
  // Starts `binary` with `args` plus --port=0 (unless `args` has --port=N) --port_file=<tmp>, waits
  // for the port file and for health SERVING (up to `timeout`; over TLS verified against
  // `tls_ca_pem` when set). The child's stderr goes to <log_dir>/<name>.log.
  static absl::StatusOr<std::unique_ptr<ServiceProcess>> Start(
      const std::string& name, const std::string& binary, const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(60), const std::string& tls_ca_pem = "");
  ~ServiceProcess();  // SIGKILLs if still running

  int port() const { return port_; }
  std::string address() const;
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // SIGTERM, then waits up to `timeout`; returns the exit status (as from waitpid), or
  // DeadlineExceeded (the process is then killed).
  absl::StatusOr<int> Terminate(absl::Duration timeout = absl::Seconds(30));
  void Kill();  // SIGKILL and reap

  // Polls the health service until it reports SERVING; over TLS when `tls_ca_pem` is set.
  static absl::Status WaitForServing(const std::string& address, absl::Duration timeout,
                                     const std::string& tls_ca_pem = "");

 private:
  ServiceProcess(pid_t pid, int port, std::string log_path)
      : pid_(pid), port_(port), log_path_(std::move(log_path)) {}

  pid_t pid_;
  int port_;
  std::string log_path_;
};

// The whole file, or "" if it cannot be read.
std::string ReadTextFile(const std::string& path);

// Runs `binary` with `args` (each single-quoted) through the shell, with `env` ("NAME=value
// ...") prepended; returns (exit code or -1, stdout + stderr).
std::pair<int, std::string> RunCommand(const std::string& binary,
                                       const std::vector<std::string>& args,
                                       const std::string& env = "");

// Plain HTTP/1.0 GET to 127.0.0.1:port; returns the body of a 200 response.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace jepalab::testing

#endif  // JEPALAB_COMMON_TESTING_SERVICE_PROCESS_H_
