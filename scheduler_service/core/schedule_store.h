// Durable store of Schedule records: a `schedules` table in the scheduler's SQLite database
// (<data_dir>/scheduler.db, beside experiments and plans), so a restarted scheduler keeps every
// schedule, its next fire time and its firing history.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULE_STORE_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/proto_blob_table.h"
#include "common/sqlite_db.h"
#include "proto/scheduler.pb.h"

namespace jepalab::scheduler {

// Owns its own database connection. Thread-safe (calls are serialised).
class ScheduleStore {
 public:
  // Opens (creating if needed) `<data_dir>/scheduler.db`; `data_dir` must exist.
  // Unavailable if the database cannot be opened or is locked, DataLoss if it is corrupt.
  // Every method's SQLite errors follow common::SqliteStatus (Unavailable only when busy).
  static absl::StatusOr<std::unique_ptr<ScheduleStore>> Open(const std::string& data_dir);
  ~ScheduleStore();
  ScheduleStore(const ScheduleStore&) = delete;
  ScheduleStore& operator=(const ScheduleStore&) = delete;

  // Inserts or replaces a schedule by name.
  absl::Status Put(const v1::Schedule& schedule);
  // Removes it; OK if it was not stored.
  absl::Status Delete(const std::string& name);
  // Every schedule, in the order first stored.
  absl::StatusOr<std::vector<v1::Schedule>> List();

 private:
  explicit ScheduleStore(std::unique_ptr<common::SqliteDb> db);

  absl::Mutex mu_;
  const std::unique_ptr<common::SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  common::ProtoBlobTable<v1::Schedule> schedules_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULE_STORE_H_
