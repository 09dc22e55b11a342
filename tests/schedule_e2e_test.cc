// Schedules end to end over the real binaries: `jepalab schedule add` an every-minute schedule
// of the shipped mini sweep on a real scheduler_server, wait for it to fire (at most ~1 minute),
// restart the scheduler on the same data dir, and check the schedule and its firing were kept.
// No trainer is reachable, so the submitted runs just wait in the queue.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab {
namespace {

using ::jepalab::testing::MakeTempDir;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceProcess;
using ::testing::HasSubstr;
using ::testing::Not;

std::pair<int, std::string> RunCli(const std::vector<std::string>& args) {
  return jepalab::testing::RunCommand(RunfilePath("cli/jepalab"), args);
}

absl::StatusOr<std::unique_ptr<ServiceProcess>> StartScheduler(const std::string& root) {
  return ServiceProcess::Start("scheduler", RunfilePath("scheduler_service/scheduler_server"),
                               {"--data_dir=" + root + "/scheduler", "--trainers=127.0.0.1:1",
                                "--metrics_address=127.0.0.1:2", "--schedule_tick_seconds=1"});
}

TEST(ScheduleEndToEndTest, EveryMinuteSweepFiresAndSurvivesARestart) {
  const std::string root = MakeTempDir("schedule_e2e_");
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServiceProcess> scheduler, StartScheduler(root));
  std::string endpoint = "--scheduler=" + scheduler->address();

  auto [add_code, add_out] = RunCli({"schedule", "add", "every-minute", "--cron", "* * * * *",
                                     "--sweep", "configs/sweeps/vq_fixes_mini.yaml", endpoint});
  ASSERT_EQ(add_code, 0) << add_out;
  EXPECT_THAT(add_out, HasSubstr("schedule every-minute created"));
  auto [bad_code, bad_out] = RunCli({"schedule", "add", "bad", "--cron", "0 24 * * *", "--sweep",
                                     "configs/sweeps/vq_fixes_mini.yaml", endpoint});
  EXPECT_EQ(bad_code, 1);
  EXPECT_THAT(bad_out, HasSubstr("INVALID_ARGUMENT: cron: hour: 24"));

  // The next minute boundary is at most 60 s away; the runner checks every second.
  const absl::Time deadline = absl::Now() + absl::Seconds(75);
  std::string show;
  while (absl::Now() < deadline) {
    auto [code, out] = RunCli({"schedule", "show", "every-minute", endpoint});
    ASSERT_EQ(code, 0) << out;
    show = out;
    if (absl::StrContains(show, "sweep vq_fixes_mini-")) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_THAT(show, HasSubstr("sweep vq_fixes_mini-0001")) << "the schedule did not fire in 75 s";
  auto [list_code, list_out] = RunCli({"list", endpoint});
  ASSERT_EQ(list_code, 0) << list_out;
  EXPECT_THAT(list_out, HasSubstr("vq_fixes_mini.codebook_grad-0006"));

  // Restart on the same data dir: the schedule and its firing history are kept.
  ASSERT_THAT(scheduler->Terminate(), ::testing::IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(scheduler, StartScheduler(root));
  endpoint = "--scheduler=" + scheduler->address();
  auto [kept_code, kept_out] = RunCli({"schedule", "show", "every-minute", endpoint});
  ASSERT_EQ(kept_code, 0) << kept_out;
  EXPECT_THAT(kept_out, HasSubstr("sweep vq_fixes_mini-0001"));

  auto [delete_code, delete_out] = RunCli({"schedule", "delete", "every-minute", endpoint});
  ASSERT_EQ(delete_code, 0) << delete_out;
  auto [after_code, after_out] = RunCli({"schedule", "list", endpoint});
  ASSERT_EQ(after_code, 0) << after_out;
  EXPECT_THAT(after_out, Not(HasSubstr("every-minute")));
}

}  // namespace
}  // namespace jepalab
