// Cron expressions (5 fields: minute hour day-of-month month day-of-week, with ranges, steps,
// lists and names, plus @hourly/@daily/@weekly/@monthly/@yearly) and their next fire time.
// Pure: the caller passes the time and zone, so tests use fixed times.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_CRON_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_CRON_H_

#include <bitset>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace jepalab::scheduler {

// A parsed schedule. Immutable and copyable; thread-compatible.
class CronSchedule {
 public:
  // Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week
  // 0-7 or sun-sat (0 and 7 are Sunday); names are case-insensitive. Each field is a list
  // "a,b,..." of "*", "N", "A-B", each optionally "/STEP" ("*/15", "1-10/3", "5/10" = 5-max/10).
  // As in Vixie cron, when both day fields are restricted (neither starts with "*"), a day
  // matches if either does. Errors are InvalidArgument naming the field and the value, e.g.
  // "minute: 61 is out of range 0-59 (in \"61\")", "expected 5 fields, got 4".
  static absl::StatusOr<CronSchedule> Parse(absl::string_view expression);

  // The first minute strictly after `after` (in `zone`) at which the schedule fires. A civil
  // time skipped by a DST change fires at the transition; a repeated one fires once, at its
  // first occurrence. NotFound if it never fires within 30 years (e.g. "0 0 30 2 *").
  absl::StatusOr<absl::Time> Next(absl::Time after,
                                  absl::TimeZone zone = absl::UTCTimeZone()) const;

  // Whether the schedule fires at this civil minute.
  bool Matches(absl::CivilMinute minute) const;

  const std::string& expression() const { return expression_; }

 private:
  CronSchedule() = default;
  bool DayMatches(absl::CivilDay day) const;

  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1-31
  std::bitset<13> months_;   // 1-12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_CRON_H_
