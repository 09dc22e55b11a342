// SQLite plumbing shared by the scheduler's stores (experiments, plans): both live in
// <data_dir>/scheduler.db, each over its own connection.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_SQLITE_DB_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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

// Increments the named row of the shared `counters` table (created at 1) and returns it.
absl::StatusOr<int64_t> NextCounterValue(sqlite3* db, absl::string_view owner, const char* counter);

// Serializes `message` and runs `upsert_sql` with ?1 = id, ?2 = the blob. Internal if it does
// not serialize (naming `kind` and the id), Unavailable on a SQLite error.
template <typename Message>
absl::Status UpsertStoredProto(sqlite3* db, absl::string_view owner, const char* upsert_sql,
                               absl::string_view kind, const std::string& id, const Message& message) {
  std::string blob;
  if (!message.SerializeToString(&blob)) {
    return absl::InternalError(absl::StrCat(kind, " ", id, ": cannot serialize"));
  }
  SqliteStatement stmt(db, upsert_sql);
  if (stmt.get() == nullptr) return SqliteError(db, owner, "prepare put");
  sqlite3_bind_text(stmt.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(stmt.get(), 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqliteError(db, owner, absl::StrCat("put ", id));
  return absl::OkStatus();
}

// Runs `select_sql` ("SELECT id, proto FROM ... ORDER BY seq;") and parses each proto blob.
// Internal naming `kind` and the id if a stored record does not parse.
template <typename Message>
absl::StatusOr<std::vector<Message>> ListStoredProtos(sqlite3* db, absl::string_view owner,
                                                     const char* select_sql, absl::string_view kind) {
  SqliteStatement stmt(db, select_sql);
  if (stmt.get() == nullptr) return SqliteError(db, owner, "prepare list");
  std::vector<Message> messages;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    Message& message = messages.emplace_back();
    if (!message.ParseFromArray(sqlite3_column_blob(stmt.get(), 1), sqlite3_column_bytes(stmt.get(), 1))) {
      return absl::InternalError(absl::StrCat(
          kind, " ", reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)),
          ": stored record is corrupt"));
    }
  }
  if (rc != SQLITE_DONE) return SqliteError(db, owner, "list");
  return messages;
}

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_SQLITE_DB_H_
