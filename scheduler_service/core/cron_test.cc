#include "scheduler_service/core/cron.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::testing::HasSubstr;
using ::testing::StatusIs;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// Next fire time of `expression` after `after`, as "YYYY-MM-DD HH:MM" in UTC.
std::string NextUtc(const std::string& expression, absl::Time after) {
  absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(expression);
  if (!schedule.ok()) return schedule.status().ToString();
  absl::StatusOr<absl::Time> next = schedule->Next(after);
  if (!next.ok()) return next.status().ToString();
  return absl::FormatTime("%Y-%m-%d %H:%M", *next, absl::UTCTimeZone());
}

// 2024-03-15 is a Friday.
const absl::Time kFri = Utc(2024, 3, 15, 10, 30, 20);

TEST(CronTest, EveryMinuteIsTheNextWholeMinute) {
  EXPECT_EQ(NextUtc("* * * * *", kFri), "2024-03-15 10:31");
  EXPECT_EQ(NextUtc("* * * * *", Utc(2024, 3, 15, 10, 31)), "2024-03-15 10:32");  // strictly after
}

TEST(CronTest, FixedTimesRollOver) {
  EXPECT_EQ(NextUtc("0 2 * * *", kFri), "2024-03-16 02:00");
  EXPECT_EQ(NextUtc("45 10 * * *", kFri), "2024-03-15 10:45");
  EXPECT_EQ(NextUtc("0 0 1 1 *", kFri), "2025-01-01 00:00");
  EXPECT_EQ(NextUtc("59 23 31 12 *", Utc(2024, 12, 31, 23, 59)), "2025-12-31 23:59");
}

TEST(CronTest, StepsRangesAndLists) {
  EXPECT_EQ(NextUtc("*/15 * * * *", kFri), "2024-03-15 10:45");
  EXPECT_EQ(NextUtc("5/20 * * * *", kFri), "2024-03-15 10:45");    // 5,25,45
  EXPECT_EQ(NextUtc("0 9-17/4 * * *", kFri), "2024-03-15 13:00");  // 9,13,17
  EXPECT_EQ(NextUtc("10,20,40 * * * *", kFri), "2024-03-15 10:40");
  EXPECT_EQ(NextUtc("0 1-3,22 * * *", kFri), "2024-03-15 22:00");
}

TEST(CronTest, NamesAndWeekdays) {
  EXPECT_EQ(NextUtc("0 3 * * mon-fri", kFri), "2024-03-18 03:00");  // Fri 10:30 -> Monday
  EXPECT_EQ(NextUtc("0 3 * * SAT", kFri), "2024-03-16 03:00");
  EXPECT_EQ(NextUtc("0 0 * * 7", kFri), "2024-03-17 00:00");  // 7 is Sunday
  EXPECT_EQ(NextUtc("0 0 * * 0", kFri), "2024-03-17 00:00");
  EXPECT_EQ(NextUtc("0 0 1 jun *", kFri), "2024-06-01 00:00");
  EXPECT_EQ(NextUtc("0 0 1 Jan-Feb *", kFri), "2025-01-01 00:00");
}

TEST(CronTest, BothDayFieldsRestrictedMatchEither) {
  // The 20th or any Monday: Monday the 18th comes first.
  EXPECT_EQ(NextUtc("0 0 20 * mon", kFri), "2024-03-18 00:00");
  // Day of week unrestricted ("*"): only the day of month counts.
  EXPECT_EQ(NextUtc("0 0 20 * *", kFri), "2024-03-20 00:00");
  // "*/2" starts with "*": unrestricted, so both must match (odd days that are Mondays).
  EXPECT_EQ(NextUtc("0 0 */2 * mon", kFri), "2024-03-25 00:00");
}

TEST(CronTest, LeapDayAndImpossibleDates) {
  EXPECT_EQ(NextUtc("0 0 29 2 *", kFri), "2028-02-29 00:00");
  EXPECT_THAT(CronSchedule::Parse("0 0 30 2 *")->Next(kFri),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("never fires")));
}

TEST(CronTest, Macros) {
  EXPECT_EQ(NextUtc("@hourly", kFri), "2024-03-15 11:00");
  EXPECT_EQ(NextUtc("@daily", kFri), "2024-03-16 00:00");
  EXPECT_EQ(NextUtc("@midnight", kFri), "2024-03-16 00:00");
  EXPECT_EQ(NextUtc("@weekly", kFri), "2024-03-17 00:00");
  EXPECT_EQ(NextUtc("@monthly", kFri), "2024-04-01 00:00");
  EXPECT_EQ(NextUtc("@yearly", kFri), "2025-01-01 00:00");
  EXPECT_EQ(NextUtc("@annually", kFri), "2025-01-01 00:00");
  EXPECT_THAT(CronSchedule::Parse("@sometimes"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown macro")));
}

TEST(CronTest, TimeZoneOffsets) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(CronSchedule nightly, CronSchedule::Parse("0 2 * * *"));
  const absl::TimeZone plus2 = absl::FixedTimeZone(2 * 3600);
  JEPALAB_ASSERT_OK_AND_ASSIGN(absl::Time next, nightly.Next(kFri, plus2));
  EXPECT_EQ(next, Utc(2024, 3, 16, 0, 0));  // 02:00 at UTC+2
}

TEST(CronTest, MatchesAndExpression) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(CronSchedule schedule, CronSchedule::Parse("  30 10 15 3 *  "));
  EXPECT_EQ(schedule.expression(), "30 10 15 3 *");
  EXPECT_TRUE(schedule.Matches(absl::CivilMinute(2024, 3, 15, 10, 30)));
  EXPECT_FALSE(schedule.Matches(absl::CivilMinute(2024, 3, 15, 10, 31)));
}

TEST(CronTest, InvalidExpressionsNameTheField) {
  auto invalid = [](const std::string& expression, const std::string& message) {
    EXPECT_THAT(CronSchedule::Parse(expression),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << expression;
  };
  invalid("* * * *", "expected 5 fields");
  invalid("* * * * * *", "got 6");
  invalid("61 * * * *", "minute: 61 is out of range 0-59 (in \"61\")");
  invalid("* 24 * * *", "hour: 24 is out of range 0-23");
  invalid("* * 0 * *", "day_of_month: 0 is out of range 1-31");
  invalid("* * * 13 *", "month: 13 is out of range 1-12");
  invalid("* * * foo *", "month: \"foo\" is not a number or name");
  invalid("* * * * 8", "day_of_week: 8 is out of range 0-7");
  invalid("*/0 * * * *", "minute: step must be a number >= 1");
  invalid("5-1 * * * *", "minute: range start 5 is after its end 1");
  invalid("1,,2 * * * *", "minute: empty list item");
  invalid("* * * * mon-", "day_of_week: \"\" is not a number or name");
}

}  // namespace
}  // namespace jepalab::scheduler
