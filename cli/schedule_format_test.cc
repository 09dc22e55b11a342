#include "cli/schedule_format.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::HasSubstr;

namespace sched = ::jepalab::scheduler::v1;

int64_t UtcMs(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone()));
}

sched::Schedule Nightly() {
  sched::Schedule s;
  s.set_name("nightly");
  s.set_cron("0 2 * * *");
  s.set_timezone("UTC");
  s.mutable_sweep()->set_name("vq_fixes_mini");
  for (int i = 0; i < 5; ++i) s.mutable_sweep()->add_variants();
  s.set_next_fire_unix_ms(UtcMs(2024, 3, 17, 2, 0));
  s.set_fire_count(2);
  sched::ScheduleFiring* f = s.add_firings();
  f->set_scheduled_unix_ms(UtcMs(2024, 3, 15, 2, 0));
  f->set_fired_unix_ms(UtcMs(2024, 3, 15, 2, 0));
  f->set_sweep_id("vq_fixes_mini-0001");
  f = s.add_firings();
  f->set_scheduled_unix_ms(UtcMs(2024, 3, 16, 2, 0));
  f->set_fired_unix_ms(UtcMs(2024, 3, 16, 9, 3));
  f->set_error("RESOURCE_EXHAUSTED: queue full");
  f->set_skipped_windows(1);
  return s;
}

TEST(ScheduleFormatTest, TableShowsStateNextCountLastResultAndTarget) {
  sched::Schedule plan;
  plan.set_name("weekly-plan");
  plan.set_cron("@weekly");
  plan.set_paused(true);
  plan.mutable_plan()->set_plan_path("configs/plans/vq_diagnostic.yaml");
  plan.mutable_plan()->set_mini(true);
  EXPECT_EQ(
      FormatScheduleTable({Nightly(), plan}),
      "NAME         CRON       STATE   NEXT (UTC)            FIRED  LAST                          "
      "TARGET\n"
      "nightly      0 2 * * *  active  2024-03-17 02:00          2  error: RESOURCE_EXHAUSTED: "
      "queue full  "
      "sweep vq_fixes_mini (5 variants)\n"
      "weekly-plan  @weekly    paused  -                         0  -                             "
      "plan configs/plans/vq_diagnostic.yaml (mini)\n");
}

TEST(ScheduleFormatTest, DetailsListEveryFiring) {
  const std::string text = FormatScheduleDetails(Nightly());
  EXPECT_THAT(text, HasSubstr("schedule nightly  active\n  cron: 0 2 * * * (UTC)\n"));
  EXPECT_THAT(text, HasSubstr("  next: 2024-03-17 02:00 UTC\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "    2024-03-15 02:00 UTC  fired 2024-03-15 02:00 UTC  sweep vq_fixes_mini-0001\n"));
  EXPECT_THAT(text, HasSubstr("fired 2024-03-16 09:03 UTC  error: RESOURCE_EXHAUSTED: queue full  "
                              "(1 missed windows folded in)\n"));
}

}  // namespace
}  // namespace jepalab::cli
