// Text views of cron schedules for `jepalab schedule list|show`. Pure; times in UTC.
#ifndef JEPALAB_CLI_SCHEDULE_FORMAT_H_
#define JEPALAB_CLI_SCHEDULE_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/scheduler.pb.h"

namespace jepalab::cli {

// "2024-03-16 02:00 UTC"; "-" for 0.
std::string FormatUtcMinute(int64_t unix_ms);

// "sweep vq_fixes_mini (5 variants)", "plan configs/plans/vq_diagnostic.yaml (mini)".
std::string ScheduleTargetText(const ::jepalab::scheduler::v1::Schedule& schedule);

// One line per schedule: NAME, CRON, STATE (active|paused), NEXT, FIRED (count), LAST (what the
// newest firing submitted, or its error), TARGET.
std::string FormatScheduleTable(const std::vector<::jepalab::scheduler::v1::Schedule>& schedules);

// One schedule with every kept firing.
std::string FormatScheduleDetails(const ::jepalab::scheduler::v1::Schedule& schedule);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_SCHEDULE_FORMAT_H_
