// A WorkerLauncher without processes, for RunManager tests: it records every launch and every
// signal, and the test plays the worker: it writes its events, makes it exit or crash, and
// decides whether it honours SIGTERM.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_TESTING_FAKE_WORKER_LAUNCHER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_TESTING_FAKE_WORKER_LAUNCHER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/trainer.pb.h"
#include "trainer_service/core/worker_launcher.h"

namespace jepalab::trainer::testing {

// One launched fake worker: the test's side (Emit..., Exit, ...) and the manager's side (the
// Worker calls, through the handle Launch returned). Thread-safe.
class FakeWorker {
 public:
  FakeWorker(int pid, WorkerSpec spec) : pid_(pid), spec_(std::move(spec)) {}

  int pid() const { return pid_; }
  const WorkerSpec& spec() const { return spec_; }
  // True if spec().args has `arg` exactly.
  bool HasArg(const std::string& arg) const;

  // Writes an event into the channel, framed as the real worker does. Ignored after the exit.
  void Emit(const v1::RunEvent& event);
  void EmitState(common::v1::RunState state, const std::string& message = "");
  void EmitProgress(int64_t step, int32_t epoch, int64_t total_steps = 0);
  // Closes the channel and exits with `code` / is killed by `signal`. Only the first exit counts.
  void Exit(int code);
  void Die(int signal);
  // From now on SIGTERM does nothing (a hung worker): only SIGKILL ends it. By default SIGTERM
  // makes it report CANCELLED ("cancelled at step N", N its last emitted step) and exit 0.
  void IgnoreSigterm();

  // The signals it got before it was reaped, in order.
  std::vector<int> signals() const;
  // Waits in real time, up to `timeout`, until it got `signal`. False on timeout.
  bool WaitForSignal(int signal, absl::Duration timeout) const;
  // Whether the manager reaped it (Worker::Wait returned).
  bool reaped() const;
  // Waits in real time, up to `timeout`, until the manager reaped it. False on timeout.
  bool WaitUntilReaped(absl::Duration timeout) const;

  // Worker's contract (see worker_launcher.h).
  bool ReadEvents(std::string* bytes);
  int Wait();
  void Signal(int signal);

 private:
  void ExitLocked(int wait_status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int pid_;
  const WorkerSpec spec_;
  mutable absl::Mutex mu_;
  std::string channel_ ABSL_GUARDED_BY(mu_);  // written, not yet read
  int64_t last_step_ ABSL_GUARDED_BY(mu_) = 0;
  bool ignore_sigterm_ ABSL_GUARDED_BY(mu_) = false;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  int wait_status_ ABSL_GUARDED_BY(mu_) = 0;
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> signals_ ABSL_GUARDED_BY(mu_);
};

// Thread-safe. Workers stay alive (for the test to inspect) as long as the launcher.
class FakeWorkerLauncher : public WorkerLauncher {
 public:
  absl::StatusOr<std::unique_ptr<Worker>> Launch(const WorkerSpec& spec) override;

  // The next Launch fails with `status` instead of starting a worker.
  void FailNextLaunch(absl::Status status);
  int launches() const;
  // The worker of the i-th successful launch (0-based), in launch order; null if none.
  std::shared_ptr<FakeWorker> worker(int i) const;
  std::shared_ptr<FakeWorker> last() const;

 private:
  mutable absl::Mutex mu_;
  absl::Status next_error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<FakeWorker>> workers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::trainer::testing

#endif  // JEPALAB_TRAINER_SERVICE_CORE_TESTING_FAKE_WORKER_LAUNCHER_H_
