// SQLite plumbing shared by the scheduler's stores (experiments, plans): both live in
// <data_dir>/scheduler.db, each over its own connection.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_SQLITE_DB_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_SQLITE_DB_H_

#include <sqlite3.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace jepalab::scheduler {

// Opens (creating) <data_dir>/scheduler.db in WAL mode with synchronous=NORMAL (durable across
// process crashes) and a busy timeout, then runs `schema`. Unavailable names `owner` and the path.
absl::StatusOr<sqlite3*> OpenSchedulerDb(const std::string& data_dir, absl::string_view owner,
                                         const char* schema);

// sqlite3_exec; Unavailable "<owner>: <sqlite message>" on failure.
absl::Status ExecSql(sqlite3* db, absl::string_view owner, const char* sql);

// Unavailable "<owner>: <what>: <sqlite3_errmsg>".
absl::Status SqliteError(sqlite3* db, absl::string_view owner, absl::string_view what);

// A prepared statement, finalized on every return path. get() is null if preparing failed.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_SQLITE_DB_H_
