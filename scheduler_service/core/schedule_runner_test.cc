#include "scheduler_service/core/schedule_runner.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsOk;
using ::testing::StatusIs;

int64_t UtcMs(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

std::string UtcText(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

v1::SubmitSweepRequest Sweep() {
  v1::SubmitSweepRequest sweep;
  sweep.set_name("nightly");
  sweep.set_config_yaml("seed: 5\ntraining:\n  epochs: 2\n");
  for (const char* name : {"a", "b"}) sweep.add_variants()->set_name(name);
  sweep.mutable_variants(1)->add_overrides("optimizer.lr=0.001");
  return sweep;
}

v1::CreateScheduleRequest SweepSchedule(const std::string& name, const std::string& cron) {
  v1::CreateScheduleRequest request;
  request.set_name(name);
  request.set_cron(cron);
  *request.mutable_sweep() = Sweep();
  return request;
}

class ScheduleRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (std::filesystem::path(std::getenv("TEST_TMPDIR")) / info->name()).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    clock_.SetMillis(UtcMs(2024, 3, 15, 10, 7));
    Start();
  }

  // (Re)starts the runner on the same database: a scheduler restart.
  void Start() {
    runner_.reset();
    ScheduleRunnerOptions options;
    options.data_dir = dir_;
    options.clock = &clock_;
    options.start_thread = false;  // the test ticks
    options.submit_sweep =
        [this](const v1::SubmitSweepRequest& request) -> absl::StatusOr<std::string> {
      if (!submit_error_.ok()) return submit_error_;
      sweeps_.push_back(request);
      return absl::StrCat(request.name(), "-", sweeps_.size());
    };
    options.submit_plan =
        [this](const v1::SubmitPlanRequest& request) -> absl::StatusOr<std::string> {
      plans_.push_back(request);
      return absl::StrCat("vq_diagnostic-", plans_.size());
    };
    auto runner = ScheduleRunner::Create(options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = *std::move(runner);
  }

  // Ticks once a minute (on the minute's 30th second) until `end_ms`; returns the minutes that
  // fired, as "YYYY-MM-DD HH:MM".
  std::vector<std::string> TickEveryMinuteUntil(int64_t end_ms) {
    std::vector<std::string> fired;
    while (clock_.NowUnixMillis() + 60'000 <= end_ms) {
      clock_.AdvanceMillis(60'000);
      if (runner_->Tick() > 0) fired.push_back(UtcText(clock_.NowUnixMillis()));
    }
    return fired;
  }

  std::string dir_;
  jepalab::testing::FakeClock clock_;
  absl::Status submit_error_;
  std::vector<v1::SubmitSweepRequest> sweeps_;
  std::vector<v1::SubmitPlanRequest> plans_;
  std::unique_ptr<ScheduleRunner> runner_;
};

TEST_F(ScheduleRunnerTest, FiresAtTheCronMinutesOnlyAndRecordsWhatItSubmitted) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule created,
                               runner_->CreateSchedule(SweepSchedule("q", "*/15 * * * *")));
  EXPECT_EQ(created.timezone(), "UTC");
  EXPECT_EQ(UtcText(created.next_fire_unix_ms()), "2024-03-15 10:15");

  clock_.SetMillis(UtcMs(2024, 3, 15, 10, 14, 59));
  EXPECT_EQ(runner_->Tick(), 0);
  EXPECT_THAT(sweeps_, IsEmpty());
  clock_.SetMillis(UtcMs(2024, 3, 15, 10, 15, 0));
  EXPECT_EQ(runner_->Tick(), 1);
  EXPECT_EQ(runner_->Tick(), 0) << "the same window fired twice";
  ASSERT_EQ(sweeps_.size(), 1u);
  EXPECT_EQ(sweeps_[0].variants_size(), 2);

  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule schedule, runner_->GetSchedule("q"));
  EXPECT_EQ(schedule.fire_count(), 1);
  ASSERT_EQ(schedule.firings_size(), 1);
  EXPECT_EQ(schedule.firings(0).scheduled_unix_ms(), UtcMs(2024, 3, 15, 10, 15));
  EXPECT_EQ(schedule.firings(0).fired_unix_ms(), UtcMs(2024, 3, 15, 10, 15));
  EXPECT_EQ(schedule.firings(0).sweep_id(), "nightly-1");
  EXPECT_EQ(schedule.firings(0).skipped_windows(), 0);
  EXPECT_EQ(UtcText(schedule.next_fire_unix_ms()), "2024-03-15 10:30");

  EXPECT_THAT(TickEveryMinuteUntil(UtcMs(2024, 3, 15, 11, 1)),
              ElementsAre("2024-03-15 10:30", "2024-03-15 10:45", "2024-03-15 11:00"));
}

TEST_F(ScheduleRunnerTest, NightlyScheduleFiresOncePerNightAt0200Utc) {
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("nightly", "0 2 * * *")), IsOk());
  EXPECT_THAT(TickEveryMinuteUntil(UtcMs(2024, 3, 18, 0, 0)),
              ElementsAre("2024-03-16 02:00", "2024-03-17 02:00"));
  EXPECT_EQ(sweeps_.size(), 2u);
}

TEST_F(ScheduleRunnerTest, PauseStopsFiringAndResumeSkipsThePausedWindows) {
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("hourly", "0 * * * *")), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule paused, runner_->PauseSchedule("hourly"));
  EXPECT_TRUE(paused.paused());
  EXPECT_EQ(paused.next_fire_unix_ms(), 0);
  EXPECT_THAT(TickEveryMinuteUntil(UtcMs(2024, 3, 15, 14, 30)), IsEmpty());

  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule resumed, runner_->ResumeSchedule("hourly"));
  EXPECT_FALSE(resumed.paused());
  EXPECT_EQ(UtcText(resumed.next_fire_unix_ms()), "2024-03-15 15:00");
  EXPECT_THAT(TickEveryMinuteUntil(UtcMs(2024, 3, 15, 16, 30)),
              ElementsAre("2024-03-15 15:00", "2024-03-15 16:00"));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule schedule, runner_->GetSchedule("hourly"));
  EXPECT_EQ(schedule.firings(0).skipped_windows(), 0) << "paused windows must not count";
}

TEST_F(ScheduleRunnerTest, DeleteRemovesTheScheduleForGood) {
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("gone", "* * * * *")), IsOk());
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("kept", "0 0 1 1 *")), IsOk());
  EXPECT_THAT(runner_->DeleteSchedule("gone"), IsOk());
  EXPECT_THAT(runner_->GetSchedule("gone"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("gone")));
  EXPECT_THAT(runner_->DeleteSchedule("gone"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("gone")));
  EXPECT_THAT(TickEveryMinuteUntil(UtcMs(2024, 3, 15, 10, 30)), IsEmpty());
  Start();
  std::vector<v1::Schedule> listed = runner_->ListSchedules();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name(), "kept");
  EXPECT_TRUE(listed[0].sweep().config_yaml().empty()) << "list leaves the config text out";
  EXPECT_FALSE(runner_->GetSchedule("kept")->sweep().config_yaml().empty());
}

TEST_F(ScheduleRunnerTest, RestartKeepsStateAndAMissedWindowFiresOnce) {
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("nightly", "0 2 * * *")), IsOk());
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("off", "0 3 * * *")), IsOk());
  ASSERT_THAT(runner_->PauseSchedule("off"), IsOk());
  clock_.SetMillis(UtcMs(2024, 3, 16, 2, 0, 10));
  ASSERT_EQ(runner_->Tick(), 1);

  // Restart at the same instant: the window is not fired again.
  Start();
  EXPECT_EQ(runner_->Tick(), 0);
  // Down for three nights: 17th, 18th and 19th 02:00 were missed; they fire once, together.
  runner_.reset();
  clock_.SetMillis(UtcMs(2024, 3, 19, 9, 0));
  Start();
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule kept, runner_->GetSchedule("nightly"));
  EXPECT_EQ(kept.fire_count(), 1);
  EXPECT_EQ(kept.sweep().variants_size(), 2);
  EXPECT_TRUE(runner_->GetSchedule("off")->paused());
  EXPECT_EQ(runner_->Tick(), 1);
  EXPECT_EQ(runner_->Tick(), 0);
  EXPECT_EQ(sweeps_.size(), 2u);
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule after, runner_->GetSchedule("nightly"));
  ASSERT_EQ(after.firings_size(), 2);
  EXPECT_EQ(UtcText(after.firings(1).scheduled_unix_ms()), "2024-03-17 02:00");
  EXPECT_EQ(after.firings(1).skipped_windows(), 2);
  EXPECT_EQ(UtcText(after.next_fire_unix_ms()), "2024-03-20 02:00");
}

TEST_F(ScheduleRunnerTest, FailedSubmissionIsRecordedAndNotRetriedInTheSameWindow) {
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("q", "0 * * * *")), IsOk());
  submit_error_ = absl::ResourceExhaustedError("queue full");
  clock_.SetMillis(UtcMs(2024, 3, 15, 11, 0));
  EXPECT_EQ(runner_->Tick(), 1);
  EXPECT_EQ(runner_->Tick(), 0);
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule schedule, runner_->GetSchedule("q"));
  ASSERT_EQ(schedule.firings_size(), 1);
  EXPECT_THAT(schedule.firings(0).error(), HasSubstr("queue full"));
  EXPECT_TRUE(schedule.firings(0).sweep_id().empty());
}

TEST_F(ScheduleRunnerTest, KeepsOnlyTheNewestFirings) {
  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("q", "* * * * *")), IsOk());
  TickEveryMinuteUntil(UtcMs(2024, 3, 15, 11, 0));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule schedule, runner_->GetSchedule("q"));
  EXPECT_EQ(schedule.fire_count(), 53);
  ASSERT_EQ(schedule.firings_size(), ScheduleRunner::kMaxFiringsKept);
  EXPECT_EQ(UtcText(schedule.firings(ScheduleRunner::kMaxFiringsKept - 1).scheduled_unix_ms()),
            "2024-03-15 11:00");
}

TEST_F(ScheduleRunnerTest, PlanTargetSubmitsThePlanWithItsMiniFlagAndOverrides) {
  v1::CreateScheduleRequest request;
  request.set_name("weekly-plan");
  request.set_cron("@weekly");
  JEPALAB_ASSERT_OK_AND_ASSIGN(*request.mutable_plan()->mutable_plan_yaml(),
                               common::ReadFile("configs/plans/vq_diagnostic.yaml"));
  request.mutable_plan()->set_plan_path("configs/plans/vq_diagnostic.yaml");
  request.mutable_plan()->set_mini(true);
  request.mutable_plan()->add_overrides("training.max_steps=10");
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::Schedule created, runner_->CreateSchedule(request));
  EXPECT_EQ(UtcText(created.next_fire_unix_ms()), "2024-03-17 00:00");  // Sunday
  clock_.SetMillis(UtcMs(2024, 3, 17, 0, 0, 5));
  EXPECT_EQ(runner_->Tick(), 1);
  ASSERT_EQ(plans_.size(), 1u);
  EXPECT_TRUE(plans_[0].mini());
  EXPECT_EQ(plans_[0].plan_path(), "configs/plans/vq_diagnostic.yaml");
  EXPECT_THAT(plans_[0].overrides(), ::testing::ElementsAre("training.max_steps=10"));
  EXPECT_EQ(runner_->GetSchedule("weekly-plan")->firings(0).plan_id(), "vq_diagnostic-1");
}

TEST_F(ScheduleRunnerTest, BadRequestsNameTheFieldAndStoreNothing) {
  auto code_and_message = [&](const v1::CreateScheduleRequest& request) {
    return runner_->CreateSchedule(request).status();
  };
  v1::CreateScheduleRequest request = SweepSchedule("x", "61 * * * *");
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cron: minute: 61")));
  request = SweepSchedule("x", "0 0 30 2 *");
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("never fires")));
  request = SweepSchedule("x y", "@daily");
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  request = SweepSchedule("x", "@daily");
  request.set_timezone("Europe/Paris");
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timezone: only UTC")));
  request = SweepSchedule("x", "@daily");
  request.clear_sweep();
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("target: set sweep or plan")));
  request = SweepSchedule("x", "@daily");
  request.mutable_sweep()->mutable_variants(1)->set_name("a");
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sweep: variants[1].name")));
  request = SweepSchedule("x", "@daily");
  request.mutable_sweep()->mutable_variants(1)->add_overrides("optimizer.nope=1");
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.nope")));
  request = SweepSchedule("x", "@daily");
  request.mutable_plan()->set_plan_yaml(
      "name: p\nstages:\n  - name: s\n    runs:\n      - name: r\n"
      "        config: configs/training/nope.yaml\n");
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("plan: <request>: stages[0].runs[0].config: file not found")));
  request = SweepSchedule("x", "@daily");
  JEPALAB_ASSERT_OK_AND_ASSIGN(*request.mutable_plan()->mutable_plan_yaml(),
                               common::ReadFile("configs/plans/vq_diagnostic.yaml"));
  request.mutable_plan()->add_overrides(
      "training.batch_size=0");  // checked against every run config
  EXPECT_THAT(code_and_message(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("training.batch_size")));
  EXPECT_THAT(runner_->ListSchedules(), IsEmpty());

  ASSERT_THAT(runner_->CreateSchedule(SweepSchedule("x", "@daily")), IsOk());
  EXPECT_THAT(runner_->CreateSchedule(SweepSchedule("x", "@hourly")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("x")));
}

}  // namespace
}  // namespace jepalab::scheduler
