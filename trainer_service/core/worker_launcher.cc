#include "trainer_service/core/worker_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace jepalab::trainer {
namespace {

class ProcessWorker : public Worker {
 public:
  ProcessWorker(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  ~ProcessWorker() override {
    if (fd_ >= 0) close(fd_);
  }

  int pid() const override { return pid_; }

  bool ReadEvents(std::string* bytes) override {
    if (fd_ < 0) return false;
    char buffer[1 << 16];
    while (true) {
      const ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n > 0) {
        bytes->append(buffer, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      close(fd_);  // EOF or a read error: the channel is over either way
      fd_ = -1;
      return false;
    }
  }

  int Wait() override {
    // Wait for the exit without reaping (WNOWAIT), then reap under mu_: Signal never sees a
    // reaped pid, which the kernel may already have given to another process.
    siginfo_t info;
    while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 &&
           errno == EINTR) {
    }
    absl::MutexLock lock(&mu_);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }

  void Signal(int signal) override {
    absl::MutexLock lock(&mu_);
    if (!reaped_) kill(pid_, signal);
  }

 private:
  const pid_t pid_;
  int fd_;  // the read end of the event pipe; only the supervisor touches it
  absl::Mutex mu_;
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Worker>> ProcessWorkerLauncher::Launch(const WorkerSpec& spec) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, spec.log_path.c_str(),
                                   O_WRONLY | O_CREAT | (spec.append_log ? O_APPEND : O_TRUNC),
                                   0644);
  // The server blocks SIGTERM/SIGINT in all its threads; the worker must start with a clean
  // mask and default handlers, in its own process group.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> args = {spec.binary};
  args.insert(args.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = spec.env;
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, spec.binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return absl::InternalError(
        absl::StrCat("cannot start worker ", spec.binary, ": ", std::strerror(rc)));
  }
  return std::make_unique<ProcessWorker>(pid, fds[0]);
}

}  // namespace jepalab::trainer
