// The RunManager's process-control seam: start a worker process with its event channel and log,
// wait for its events and its exit, signal it. ProcessWorkerLauncher is the real one
// (posix_spawn, a pipe, waitpid); tests use FakeWorkerLauncher from core/testing/.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_WORKER_LAUNCHER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_WORKER_LAUNCHER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace jepalab::trainer {

// What to start.
struct WorkerSpec {
  std::string binary;             // executable path, also argv[0]
  std::vector<std::string> args;  // argv[1..]
  std::vector<std::string> env;   // the whole environment, "NAME=value"
  std::string log_path;           // the worker's stderr
  bool append_log = false;        // false: truncate the log first
};

// One started worker. ReadEvents and Wait are called by one thread (the run's supervisor),
// Signal by any; all three may run concurrently.
class Worker {
 public:
  virtual ~Worker() = default;

  // The process id, for logs and the run's worker.pid file.
  virtual int pid() const = 0;
  // Blocks until the worker writes to its event channel (appends the bytes to *bytes, returns
  // true) or the channel ends because the worker closed it or exited (returns false; every
  // later call returns false too).
  virtual bool ReadEvents(std::string* bytes) = 0;
  // Blocks until the worker has exited, reaps it and returns its waitpid(2)-style status.
  // Call once, after ReadEvents returned false.
  virtual int Wait() = 0;
  // Sends `signal` (SIGTERM: cancel; SIGKILL: the grace is over). Does nothing once Wait has
  // reaped the worker, so a signal never reaches a process that reused its pid.
  virtual void Signal(int signal) = 0;
};

// Starts workers. Thread-safe.
class WorkerLauncher {
 public:
  virtual ~WorkerLauncher() = default;
  // Internal if the process cannot be started (the message names the binary).
  virtual absl::StatusOr<std::unique_ptr<Worker>> Launch(const WorkerSpec& spec) = 0;
};

// Real processes: the worker's stdin is /dev/null, its stdout the event pipe, its stderr the
// log; it starts with an empty signal mask, default SIGTERM/SIGINT/SIGPIPE handlers and in its
// own process group (a terminal's Ctrl-C goes to the server, which cancels runs itself).
class ProcessWorkerLauncher : public WorkerLauncher {
 public:
  absl::StatusOr<std::unique_ptr<Worker>> Launch(const WorkerSpec& spec) override;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_WORKER_LAUNCHER_H_
