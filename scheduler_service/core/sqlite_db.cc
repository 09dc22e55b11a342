#include "scheduler_service/core/sqlite_db.h"

#include "absl/strings/str_cat.h"

namespace jepalab::scheduler {

absl::Status SqliteError(sqlite3* db, absl::string_view owner, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(owner, ": ", what, ": ", sqlite3_errmsg(db)));
}

absl::Status ExecSql(sqlite3* db, absl::string_view owner, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(absl::StrCat(owner, ": ", error ? error : "exec failed"));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3*> OpenSchedulerDb(const std::string& data_dir, absl::string_view owner,
                                         const char* schema) {
  const std::string path = absl::StrCat(data_dir, "/scheduler.db");
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        owner, ": cannot open ", path, ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return status;
  }
  // The stores share the file over separate connections: wait for the other's lock.
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers never block the writer; NORMAL sync is durable across process crashes.
  for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;", schema}) {
    absl::Status status = ExecSql(db, owner, sql);
    if (!status.ok()) {
      sqlite3_close(db);
      return status;
    }
  }
  return db;
}

absl::StatusOr<int64_t> NextCounterValue(sqlite3* db, absl::string_view owner, const char* counter) {
  SqliteStatement stmt(db,
                       "INSERT INTO counters (name, value) VALUES (?1, 1) "
                       "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value;");
  if (stmt.get() == nullptr) return SqliteError(db, owner, "prepare sequence");
  sqlite3_bind_text(stmt.get(), 1, counter, -1, SQLITE_STATIC);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return SqliteError(db, owner, "next sequence");
  const int64_t value = sqlite3_column_int64(stmt.get(), 0);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqliteError(db, owner, "next sequence");
  return value;
}

}  // namespace jepalab::scheduler
