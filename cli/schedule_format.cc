#include "cli/schedule_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "cli/plan_files.h"
#include "config/plan_submission.h"

namespace jepalab::cli {
namespace {

namespace sched = ::jepalab::scheduler::v1;

std::string FiringResult(const sched::ScheduleFiring& firing) {
  if (!firing.error().empty()) return absl::StrCat("error: ", firing.error());
  if (!firing.sweep_id().empty()) return absl::StrCat("sweep ", firing.sweep_id());
  if (!firing.plan_id().empty()) return absl::StrCat("plan ", firing.plan_id());
  return "submitting";  // stored before the submission, result not (yet) recorded
}

}  // namespace

std::string FormatUtcMinute(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone()),
      " UTC");
}

std::string ScheduleTargetText(const sched::Schedule& schedule) {
  if (schedule.has_sweep()) {
    const sched::SubmitSweepRequest& sweep = schedule.sweep();
    const std::string shape = sweep.grid_size() > 0
                                  ? absl::StrCat(sweep.grid_size(), "-axis grid")
                                  : absl::StrCat(sweep.variants_size(), " variants");
    return absl::StrCat("sweep ", sweep.name().empty() ? "sweep" : sweep.name(), " (", shape,
                        sweep.stop_on_collapse().enabled() ? ", stop on collapse" : "", ")");
  }
  if (schedule.has_plan()) {
    return absl::StrCat(
        "plan ", schedule.plan().plan_path().empty() ? "<plan>" : schedule.plan().plan_path(),
        ScaleSuffix(config::RecordScale(schedule.plan())));
  }
  return "-";
}

std::string FormatScheduleTable(const std::vector<sched::Schedule>& schedules) {
  size_t name_width = 4;
  size_t cron_width = 4;
  for (const sched::Schedule& s : schedules) {
    name_width = std::max(name_width, s.name().size());
    cron_width = std::max(cron_width, s.cron().size());
  }
  std::string out =
      absl::StrFormat("%-*s  %-*s  %-6s  %-20s  %5s  %-28s  %s\n", name_width, "NAME", cron_width,
                      "CRON", "STATE", "NEXT (UTC)", "FIRED", "LAST", "TARGET");
  for (const sched::Schedule& s : schedules) {
    const std::string last = s.firings().empty() ? "-" : FiringResult(*s.firings().rbegin());
    std::string next = FormatUtcMinute(s.next_fire_unix_ms());
    if (next.size() > 4 && next.substr(next.size() - 4) == " UTC") next.resize(next.size() - 4);
    absl::StrAppend(
        &out, absl::StrFormat("%-*s  %-*s  %-6s  %-20s  %5d  %-28s  %s\n", name_width, s.name(),
                              cron_width, s.cron(), s.paused() ? "paused" : "active", next,
                              s.fire_count(), last, ScheduleTargetText(s)));
  }
  return out;
}

std::string FormatScheduleDetails(const sched::Schedule& s) {
  std::string out =
      absl::StrCat("schedule ", s.name(), "  ", s.paused() ? "paused" : "active", "\n");
  absl::StrAppend(&out, "  cron: ", s.cron(), " (", s.timezone().empty() ? "UTC" : s.timezone(),
                  ")\n");
  absl::StrAppend(&out, "  target: ", ScheduleTargetText(s), "\n");
  absl::StrAppend(&out, "  next: ", FormatUtcMinute(s.next_fire_unix_ms()), "\n");
  absl::StrAppend(&out, "  fired: ", s.fire_count(), " time", s.fire_count() == 1 ? "" : "s",
                  s.firings_size() < s.fire_count()
                      ? absl::StrCat(" (newest ", s.firings_size(), " below)")
                      : "",
                  "\n");
  for (const sched::ScheduleFiring& f : s.firings()) {
    absl::StrAppend(&out, "    ", FormatUtcMinute(f.scheduled_unix_ms()), "  fired ",
                    FormatUtcMinute(f.fired_unix_ms()), "  ", FiringResult(f),
                    f.skipped_windows() > 0
                        ? absl::StrCat("  (", f.skipped_windows(), " missed windows folded in)")
                        : "",
                    "\n");
  }
  return out;
}

}  // namespace jepalab::cli
