// Keepalive end to end: a peer frozen with SIGSTOP in the middle of a quiet long stream is
// noticed within keepalive time + timeout, not at the call's deadline, in both directions:
//   - the client side: this test's WatchCollapseEvents and ReportMetrics streams to a frozen
//     metrics_server end UNAVAILABLE;
//   - the server side: metrics_server (--keepalive_time/--keepalive_timeout) drops the
//     connection of a frozen client process (tests/keepalive_frozen_client).
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_channel.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab {
namespace {

using ::jepalab::testing::MakeTempDir;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceProcess;
using ::testing::IsOk;
namespace met = ::jepalab::metrics::v1;

constexpr absl::Duration kKeepaliveTime = absl::Seconds(1);
constexpr absl::Duration kKeepaliveTimeout = absl::Seconds(1);
// Detection is due after about time + timeout; the rest is slack for a loaded machine.
constexpr absl::Duration kDetectWithin = absl::Seconds(10);
// Without keepalive the calls would only end here: a clear failure rather than a hang.
constexpr absl::Duration kCallDeadline = absl::Seconds(30);

absl::StatusOr<std::unique_ptr<ServiceProcess>> StartMetrics(std::vector<std::string> flags) {
  flags.push_back("--data_dir=" + MakeTempDir("keepalive_metrics_"));
  flags.push_back("--http_port=0");
  return ServiceProcess::Start("metrics", RunfilePath("metrics_service/metrics_server"), flags);
}

// SIGSTOP for the scope's lifetime; returns once the process has stopped.
class Frozen {
 public:
  explicit Frozen(pid_t pid) : pid_(pid) {
    kill(pid_, SIGSTOP);
    int status = 0;
    waitpid(pid_, &status, WUNTRACED);  // our child: reports the stop
    at_ = absl::Now();
  }
  ~Frozen() { kill(pid_, SIGCONT); }
  absl::Time at() const { return at_; }

 private:
  const pid_t pid_;
  absl::Time at_;
};

// tests/keepalive_frozen_client as a child process; SIGKILLed (stopped or not) at the end.
class FrozenClient {
 public:
  ~FrozenClient() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Starts it against `address` and waits for its "open" (both streams on the wire).
  absl::Status Start(const std::string& address) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return absl::InternalError("pipe failed");
    const std::string binary = RunfilePath("tests/keepalive_frozen_client");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
      execl(binary.c_str(), binary.c_str(), address.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(pipe_fds[1]);
    out_ = pipe_fds[0];
    if (pid_ < 0) return absl::InternalError("fork failed");
    std::string said;
    pollfd readable{out_, POLLIN, 0};
    while (said.find("open\n") == std::string::npos) {
      if (poll(&readable, 1, 30000) != 1) return absl::DeadlineExceededError("no \"open\" in 30s");
      char buffer[64];
      const ssize_t n = read(out_, buffer, sizeof(buffer));
      if (n <= 0) return absl::UnavailableError(absl::StrCat("helper exited: ", said));
      said.append(buffer, n);
    }
    return absl::OkStatus();
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

// Inodes of the sockets `pid` holds open.
std::set<std::string> SocketInodes(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/fd"), error)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    if (absl::StartsWith(target, "socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// How many of the sockets `inodes` are ESTABLISHED TCP connections to port `port`.
int EstablishedTo(const std::set<std::string>& inodes, int port) {
  constexpr char kEstablished[] = "01";
  int count = 0;
  // gRPC's sockets are dual-stack: 127.0.0.1 shows up in tcp6 as ::ffff:127.0.0.1.
  std::stringstream tables;
  tables << std::ifstream("/proc/net/tcp").rdbuf() << std::ifstream("/proc/net/tcp6").rdbuf();
  std::string line;
  while (std::getline(tables, line)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    const std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 10) continue;
    const std::vector<std::string> remote = absl::StrSplit(fields[2], ':');
    int remote_port = 0;
    if (remote.size() == 2 && absl::SimpleHexAtoi(remote[1], &remote_port) && remote_port == port &&
        fields[3] == kEstablished && inodes.count(fields[9]) > 0) {
      ++count;
    }
  }
  return count;
}

TEST(KeepaliveE2eTest, StreamsToAFrozenServerEndUnavailableWithinSeconds) {
  ASSERT_THAT(common::SetClientKeepalive({kKeepaliveTime, kKeepaliveTimeout}), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServiceProcess> server, StartMetrics({}));
  auto stub = met::MetricsService::NewStub(common::CreateClientChannel(server->address(), {}));

  grpc::ClientContext watch_context;
  watch_context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  auto watch = stub->WatchCollapseEvents(&watch_context, met::WatchCollapseEventsRequest());
  grpc::ClientContext report_context;
  report_context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  met::ReportMetricsResponse response;
  auto report = stub->ReportMetrics(&report_context, &response);

  // Read blocks until the stream ends: watch it from a thread.
  absl::Notification watch_ended;
  grpc::Status watch_status;
  absl::Time watch_end;
  std::thread watcher([&] {
    met::CollapseEvent event;
    while (watch->Read(&event)) {
    }
    watch_status = watch->Finish();
    watch_end = absl::Now();
    watch_ended.Notify();
  });

  // Pings on a quiet, healthy stream for a few rounds: the server must not GOAWAY them.
  EXPECT_FALSE(watch_ended.WaitForNotificationWithTimeout(4 * kKeepaliveTime))
      << "healthy stream ended: " << watch_status.error_message();

  absl::Time frozen_at;
  grpc::Status report_status;
  absl::Time report_end;
  {
    Frozen frozen(server->pid());
    frozen_at = frozen.at();
    report_status = report->Finish();  // half-closes and waits for an answer that cannot come
    report_end = absl::Now();
    watch_ended.WaitForNotification();  // at the latest at its deadline
  }
  watcher.join();
  std::cerr << "frozen server noticed after: watch " << (watch_end - frozen_at) << ", report "
            << (report_end - frozen_at) << "\n";
  EXPECT_EQ(watch_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << watch_status.error_message();
  EXPECT_LT(watch_end - frozen_at, kDetectWithin);
  EXPECT_EQ(report_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << report_status.error_message();
  EXPECT_LT(report_end - frozen_at, kDetectWithin);

  // Thawed, the server is reached again on the same channel. A connection the channel opened
  // while the server was stopped (the kernel accepts it) may still die of its keepalive after the
  // thaw and fail one call UNAVAILABLE; the next call connects afresh.
  const absl::Time reach_by = absl::Now() + absl::Seconds(20);
  grpc::Status listed;
  do {
    grpc::ClientContext list_context;
    list_context.set_wait_for_ready(true);
    list_context.set_deadline(absl::ToChronoTime(reach_by));
    met::ListRunsResponse runs;
    listed = stub->ListRuns(&list_context, met::ListRunsRequest(), &runs);
  } while (listed.error_code() == grpc::StatusCode::UNAVAILABLE && absl::Now() < reach_by);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
}

TEST(KeepaliveE2eTest, ServerDropsAFrozenClientWithinSeconds) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ServiceProcess> server,
      StartMetrics(
          {absl::StrCat("--keepalive_time=", absl::FormatDuration(kKeepaliveTime)),
           absl::StrCat("--keepalive_timeout=", absl::FormatDuration(kKeepaliveTimeout))}));
  FrozenClient client;
  ASSERT_THAT(client.Start(server->address()), IsOk());
  const std::set<std::string> sockets = SocketInodes(client.pid());
  ASSERT_EQ(EstablishedTo(sockets, server->port()), 1);

  // A quiet but live client answers the server's pings and keeps its connection.
  absl::SleepFor(4 * kKeepaliveTime);
  ASSERT_EQ(EstablishedTo(sockets, server->port()), 1);

  Frozen frozen(client.pid());
  const absl::Time deadline = frozen.at() + kCallDeadline;
  while (EstablishedTo(sockets, server->port()) > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration took = absl::Now() - frozen.at();
  std::cerr << "frozen client dropped after " << took << "\n";
  EXPECT_LT(took, kDetectWithin);
}

}  // namespace
}  // namespace jepalab
