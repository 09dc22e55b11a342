#include "scheduler_service/core/schedule_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace jepalab::scheduler {

absl::StatusOr<std::unique_ptr<ScheduleStore>> ScheduleStore::Open(const std::string& data_dir) {
  common::SqliteDbOptions options;
  options.name = "schedule store";
  // The stores share scheduler.db over separate connections, each used from several threads.
  options.full_mutex = true;
  options.schema = common::ProtoBlobTable<v1::Schedule>::Schema("schedules", "name");
  JEPALAB_ASSIGN_OR_RETURN(
      std::unique_ptr<common::SqliteDb> db,
      common::SqliteDb::Open(absl::StrCat(data_dir, "/scheduler.db"), options));
  return std::unique_ptr<ScheduleStore>(new ScheduleStore(std::move(db)));
}

ScheduleStore::ScheduleStore(std::unique_ptr<common::SqliteDb> db)
    : db_(std::move(db)), schedules_(db_.get(), "schedules", "name", "schedule") {}

ScheduleStore::~ScheduleStore() = default;

absl::Status ScheduleStore::Put(const v1::Schedule& schedule) {
  absl::MutexLock lock(&mu_);
  return schedules_.Put(schedule.name(), schedule);
}

absl::Status ScheduleStore::Delete(const std::string& name) {
  absl::MutexLock lock(&mu_);
  return schedules_.Delete(name);
}

absl::StatusOr<std::vector<v1::Schedule>> ScheduleStore::List() {
  absl::MutexLock lock(&mu_);
  return schedules_.List();
}

}  // namespace jepalab::scheduler
