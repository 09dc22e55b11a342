#include "scheduler_service/core/schedule_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "scheduler_service/core/sqlite_db.h"

namespace jepalab::scheduler {
namespace {

constexpr char kOwner[] = "schedule store";
constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS schedules ("
    "  name TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  proto BLOB NOT NULL);";

}  // namespace

absl::StatusOr<std::unique_ptr<ScheduleStore>> ScheduleStore::Open(const std::string& data_dir) {
  JEPALAB_ASSIGN_OR_RETURN(sqlite3* db, OpenSchedulerDb(data_dir, kOwner, kSchema));
  return std::unique_ptr<ScheduleStore>(new ScheduleStore(db));
}

ScheduleStore::~ScheduleStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status ScheduleStore::Put(const v1::Schedule& schedule) {
  absl::MutexLock lock(&mu_);
  // A new row gets the next seq; an update keeps its row's seq (upsert leaves it alone).
  return UpsertStoredProto(db_, kOwner,
                           "INSERT INTO schedules (name, seq, proto) VALUES "
                           "(?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM schedules), ?2) "
                           "ON CONFLICT(name) DO UPDATE SET proto = excluded.proto;",
                           "schedule", schedule.name(), schedule);
}

absl::Status ScheduleStore::Delete(const std::string& name) {
  absl::MutexLock lock(&mu_);
  SqliteStatement stmt(db_, "DELETE FROM schedules WHERE name = ?1;");
  if (stmt.get() == nullptr) return SqliteError(db_, kOwner, "prepare delete");
  sqlite3_bind_text(stmt.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
    return SqliteError(db_, kOwner, absl::StrCat("delete ", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Schedule>> ScheduleStore::List() {
  absl::MutexLock lock(&mu_);
  return ListStoredProtos<v1::Schedule>(db_, kOwner,
                                        "SELECT name, proto FROM schedules ORDER BY seq;",
                                        "schedule");
}

}  // namespace jepalab::scheduler
