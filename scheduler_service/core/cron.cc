#include "scheduler_service/core/cron.h"

#include <cstdint>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace jepalab::scheduler {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  std::vector<const char*> names;  // names[i] means min + i
};

const FieldSpec kMinute = {"minute", 0, 59, {}};
const FieldSpec kHour = {"hour", 0, 23, {}};
const FieldSpec kDayOfMonth = {"day_of_month", 1, 31, {}};
const FieldSpec kMonth = {
    "month",
    1,
    12,
    {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}};
// 7 is accepted as Sunday and folded onto 0.
const FieldSpec kDayOfWeek = {
    "day_of_week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}};

absl::Status FieldError(const FieldSpec& spec, absl::string_view item, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(spec.name, ": ", what, " (in \"", item, "\")"));
}

absl::StatusOr<int> ParseValue(const FieldSpec& spec, absl::string_view text,
                               absl::string_view item) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (size_t i = 0; i < spec.names.size(); ++i) {
    if (lower == spec.names[i]) return spec.min + static_cast<int>(i);
  }
  int value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return FieldError(spec, item, absl::StrCat("\"", text, "\" is not a number or name"));
  }
  if (value < spec.min || value > spec.max) {
    return FieldError(spec, item,
                      absl::StrCat(value, " is out of range ", spec.min, "-", spec.max));
  }
  return value;
}

// Sets the bits of one field; returns its values as a bitset over [0, 64).
absl::StatusOr<std::bitset<64>> ParseField(const FieldSpec& spec, absl::string_view field) {
  std::bitset<64> bits;
  for (absl::string_view item : absl::StrSplit(field, ',')) {
    if (item.empty()) return FieldError(spec, field, "empty list item");
    absl::string_view range = item;
    int step = 1;
    bool has_step = false;
    if (const size_t slash = item.find('/'); slash != absl::string_view::npos) {
      range = item.substr(0, slash);
      has_step = true;
      if (!absl::SimpleAtoi(item.substr(slash + 1), &step) || step < 1) {
        return FieldError(
            spec, item,
            absl::StrCat("step must be a number >= 1, got \"", item.substr(slash + 1), "\""));
      }
    }
    int low = spec.min, high = spec.max;
    if (range == "*") {
      // the whole range
    } else if (const size_t dash = range.find('-'); dash != absl::string_view::npos) {
      JEPALAB_ASSIGN_OR_RETURN(low, ParseValue(spec, range.substr(0, dash), item));
      JEPALAB_ASSIGN_OR_RETURN(high, ParseValue(spec, range.substr(dash + 1), item));
      if (low > high) {
        return FieldError(spec, item,
                          absl::StrCat("range start ", low, " is after its end ", high));
      }
    } else {
      JEPALAB_ASSIGN_OR_RETURN(low, ParseValue(spec, range, item));
      if (!has_step) high = low;  // "5/10" means 5-max/10
    }
    for (int v = low; v <= high; v += step) bits.set(v);
  }
  return bits;
}

template <size_t N>
std::bitset<N> Narrow(const std::bitset<64>& bits) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = bits[i];
  return out;
}

int CronWeekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::sunday:
      return 0;
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
  }
  return 0;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view expression) {
  static const std::map<std::string, std::string>* const kMacros =
      new std::map<std::string, std::string>{{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
                                             {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
                                             {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                                             {"@hourly", "0 * * * *"}};
  const std::string trimmed(absl::StripAsciiWhitespace(expression));
  std::string text = trimmed;
  if (!text.empty() && text[0] == '@') {
    auto it = kMacros->find(absl::AsciiStrToLower(text));
    if (it == kMacros->end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown macro \"", text, "\""));
    }
    text = it->second;
  }
  std::vector<absl::string_view> fields = absl::StrSplit(text, ' ', absl::SkipWhitespace());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected 5 fields (minute hour day_of_month month day_of_week), got ",
                     fields.size(), " in \"", trimmed, "\""));
  }
  CronSchedule schedule;
  schedule.expression_ = trimmed;
  JEPALAB_ASSIGN_OR_RETURN(std::bitset<64> minutes, ParseField(kMinute, fields[0]));
  JEPALAB_ASSIGN_OR_RETURN(std::bitset<64> hours, ParseField(kHour, fields[1]));
  JEPALAB_ASSIGN_OR_RETURN(std::bitset<64> days, ParseField(kDayOfMonth, fields[2]));
  JEPALAB_ASSIGN_OR_RETURN(std::bitset<64> months, ParseField(kMonth, fields[3]));
  JEPALAB_ASSIGN_OR_RETURN(std::bitset<64> weekdays, ParseField(kDayOfWeek, fields[4]));
  if (weekdays[7]) weekdays.set(0);
  schedule.minutes_ = Narrow<60>(minutes);
  schedule.hours_ = Narrow<24>(hours);
  schedule.days_ = Narrow<32>(days);
  schedule.months_ = Narrow<13>(months);
  schedule.weekdays_ = Narrow<7>(weekdays);
  schedule.days_restricted_ = fields[2][0] != '*';
  schedule.weekdays_restricted_ = fields[4][0] != '*';
  return schedule;
}

bool CronSchedule::DayMatches(absl::CivilDay day) const {
  const bool dom = days_[day.day()];
  const bool dow = weekdays_[CronWeekday(day)];
  if (days_restricted_ && weekdays_restricted_) return dom || dow;
  return dom && dow;
}

bool CronSchedule::Matches(absl::CivilMinute minute) const {
  return months_[minute.month()] && DayMatches(absl::CivilDay(minute)) && hours_[minute.hour()] &&
         minutes_[minute.minute()];
}

absl::StatusOr<absl::Time> CronSchedule::Next(absl::Time after, absl::TimeZone zone) const {
  absl::CivilMinute t = absl::ToCivilMinute(after, zone) + 1;
  const absl::civil_year_t last_year = t.year() + 30;
  while (t.year() <= last_year) {
    // Skip whole months, days and hours that cannot match.
    if (!months_[t.month()]) {
      t = absl::CivilMinute(absl::CivilMonth(t) + 1);
      continue;
    }
    if (!DayMatches(absl::CivilDay(t))) {
      t = absl::CivilMinute(absl::CivilDay(t) + 1);
      continue;
    }
    if (!hours_[t.hour()]) {
      t = absl::CivilMinute(absl::CivilHour(t) + 1);
      continue;
    }
    if (!minutes_[t.minute()]) {
      t += 1;
      continue;
    }
    const absl::TimeZone::TimeInfo info = zone.At(t);
    const absl::Time fire = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
    if (fire > after) return fire;
    t += 1;
  }
  return absl::NotFoundError(
      absl::StrCat("cron \"", expression_, "\" never fires within 30 years"));
}

}  // namespace jepalab::scheduler
