#include "trainer_service/core/worker_launcher.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

using ::testing::HasSubstr;

WorkerSpec ShellSpec(const std::string& script, const std::string& log_path) {
  WorkerSpec spec;
  spec.binary = "/bin/sh";
  spec.args = {"-c", script};
  spec.env = {"GREETING=hello"};
  spec.log_path = log_path;
  return spec;
}

std::string LogPath(const std::string& name) {
  const char* tmp = getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ProcessWorkerLauncherTest, StdoutIsTheEventChannelStderrTheLogAndTheExitCodeIsReported) {
  const std::string log = LogPath("exit.log");
  ProcessWorkerLauncher launcher;
  auto worker = launcher.Launch(ShellSpec("printf $GREETING; echo oops >&2; exit 3", log));
  ASSERT_TRUE(worker.ok()) << worker.status();
  EXPECT_GT((*worker)->pid(), 0);
  std::string events;
  while ((*worker)->ReadEvents(&events)) {
  }
  EXPECT_EQ(events, "hello");
  EXPECT_FALSE((*worker)->ReadEvents(&events));  // stays ended
  const int status = (*worker)->Wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(ReadFile(log), "oops\n");
  (*worker)->Signal(SIGKILL);  // reaped: does nothing

  // A second attempt appends to the log.
  WorkerSpec again = ShellSpec("echo again >&2", log);
  again.append_log = true;
  auto second = launcher.Launch(again);
  ASSERT_TRUE(second.ok()) << second.status();
  std::string ignored;
  while ((*second)->ReadEvents(&ignored)) {
  }
  EXPECT_EQ((*second)->Wait(), 0);
  EXPECT_EQ(ReadFile(log), "oops\nagain\n");
}

TEST(ProcessWorkerLauncherTest, SignalReachesTheWorker) {
  ProcessWorkerLauncher launcher;
  // exec: the signal goes to the process that holds the channel open.
  auto worker = launcher.Launch(ShellSpec("echo ready; exec sleep 600", LogPath("signal.log")));
  ASSERT_TRUE(worker.ok()) << worker.status();
  std::string events;
  ASSERT_TRUE((*worker)->ReadEvents(&events));  // running: it wrote
  EXPECT_EQ(events, "ready\n");
  (*worker)->Signal(SIGTERM);
  while ((*worker)->ReadEvents(&events)) {
  }
  const int status = (*worker)->Wait();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(ProcessWorkerLauncherTest, AMissingBinaryIsInternal) {
  ProcessWorkerLauncher launcher;
  WorkerSpec spec = ShellSpec("", LogPath("missing.log"));
  spec.binary = "/nonexistent/trainer_worker";
  auto worker = launcher.Launch(spec);
  ASSERT_FALSE(worker.ok());
  EXPECT_EQ(worker.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(worker.status().message()), HasSubstr("/nonexistent/trainer_worker"));
}

}  // namespace
}  // namespace jepalab::trainer
