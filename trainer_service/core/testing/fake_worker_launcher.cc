#include "trainer_service/core/testing/fake_worker_launcher.h"

#include <signal.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "trainer_service/core/worker_events.h"

namespace jepalab::trainer::testing {
namespace {

// waitpid(2)'s encoding: the exit code in the second byte, a fatal signal in the low bits.
int ExitedStatus(int code) { return (code & 0xff) << 8; }
int SignaledStatus(int signal) { return signal & 0x7f; }

// Pids above Linux's PID_MAX_LIMIT (2^22): never a real process, even in a reloaded worker.pid.
constexpr int kFirstPid = 5'000'000;

// What the manager owns: forwards to the shared FakeWorker the test also holds.
class WorkerHandle : public Worker {
 public:
  explicit WorkerHandle(std::shared_ptr<FakeWorker> worker) : worker_(std::move(worker)) {}
  int pid() const override { return worker_->pid(); }
  bool ReadEvents(std::string* bytes) override { return worker_->ReadEvents(bytes); }
  int Wait() override { return worker_->Wait(); }
  void Signal(int signal) override { worker_->Signal(signal); }

 private:
  std::shared_ptr<FakeWorker> worker_;
};

}  // namespace

bool FakeWorker::HasArg(const std::string& arg) const {
  return std::find(spec_.args.begin(), spec_.args.end(), arg) != spec_.args.end();
}

void FakeWorker::Emit(const v1::RunEvent& event) {
  absl::MutexLock lock(&mu_);
  if (exited_) return;
  if (event.has_progress()) last_step_ = event.progress().step();
  AppendDelimited(event, &channel_);
}

void FakeWorker::EmitState(common::v1::RunState state, const std::string& message) {
  v1::RunEvent event;
  event.mutable_state_change()->set_state(state);
  event.mutable_state_change()->set_message(message);
  Emit(event);
}

void FakeWorker::EmitProgress(int64_t step, int32_t epoch, int64_t total_steps) {
  v1::RunEvent event;
  event.mutable_progress()->set_step(step);
  event.mutable_progress()->set_epoch(epoch);
  event.mutable_progress()->set_total_steps(total_steps);
  Emit(event);
}

void FakeWorker::Exit(int code) {
  absl::MutexLock lock(&mu_);
  ExitLocked(ExitedStatus(code));
}

void FakeWorker::Die(int signal) {
  absl::MutexLock lock(&mu_);
  ExitLocked(SignaledStatus(signal));
}

void FakeWorker::ExitLocked(int wait_status) {
  if (exited_) return;
  exited_ = true;
  wait_status_ = wait_status;
}

void FakeWorker::IgnoreSigterm() {
  absl::MutexLock lock(&mu_);
  ignore_sigterm_ = true;
}

std::vector<int> FakeWorker::signals() const {
  absl::MutexLock lock(&mu_);
  return signals_;
}

bool FakeWorker::WaitForSignal(int signal, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto got = [this, signal]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::find(signals_.begin(), signals_.end(), signal) != signals_.end();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&got), timeout);
}

bool FakeWorker::reaped() const {
  absl::MutexLock lock(&mu_);
  return reaped_;
}

bool FakeWorker::WaitUntilReaped(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&reaped_), timeout);
}

bool FakeWorker::ReadEvents(std::string* bytes) {
  absl::MutexLock lock(&mu_);
  auto readable = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !channel_.empty() || exited_; };
  mu_.Await(absl::Condition(&readable));
  if (channel_.empty()) return false;  // exited and drained
  bytes->append(channel_);
  channel_.clear();
  return true;
}

int FakeWorker::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&exited_));
  reaped_ = true;
  return wait_status_;
}

void FakeWorker::Signal(int signal) {
  absl::MutexLock lock(&mu_);
  if (reaped_) return;
  signals_.push_back(signal);
  if (exited_) return;  // a zombie: the signal has no effect
  if (signal == SIGKILL) {
    ExitLocked(SignaledStatus(SIGKILL));
  } else if (signal == SIGTERM && !ignore_sigterm_) {
    // What the real worker does: stop at the next step, report, exit cleanly.
    v1::RunEvent event;
    event.mutable_state_change()->set_state(common::v1::RUN_STATE_CANCELLED);
    event.mutable_state_change()->set_message(absl::StrCat("cancelled at step ", last_step_));
    AppendDelimited(event, &channel_);
    ExitLocked(ExitedStatus(0));
  }
}

absl::StatusOr<std::unique_ptr<Worker>> FakeWorkerLauncher::Launch(const WorkerSpec& spec) {
  absl::MutexLock lock(&mu_);
  if (!next_error_.ok()) return std::exchange(next_error_, absl::OkStatus());
  workers_.push_back(
      std::make_shared<FakeWorker>(kFirstPid + static_cast<int>(workers_.size()), spec));
  return std::make_unique<WorkerHandle>(workers_.back());
}

void FakeWorkerLauncher::FailNextLaunch(absl::Status status) {
  absl::MutexLock lock(&mu_);
  next_error_ = std::move(status);
}

int FakeWorkerLauncher::launches() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(workers_.size());
}

std::shared_ptr<FakeWorker> FakeWorkerLauncher::worker(int i) const {
  absl::MutexLock lock(&mu_);
  if (i < 0 || i >= static_cast<int>(workers_.size())) return nullptr;
  return workers_[static_cast<size_t>(i)];
}

std::shared_ptr<FakeWorker> FakeWorkerLauncher::last() const {
  absl::MutexLock lock(&mu_);
  return workers_.empty() ? nullptr : workers_.back();
}

}  // namespace jepalab::trainer::testing
