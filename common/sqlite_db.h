// The one SQLite layer every store uses: a connection (SqliteDb), a prepared statement
// (SqliteStatement), a transaction (SqliteTransaction) and the one mapping from SQLite result
// codes to absl status codes (SqliteStatus).
#ifndef JEPALAB_COMMON_SQLITE_DB_H_
#define JEPALAB_COMMON_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace jepalab::common {

// The one mapping of a SQLite result code (primary or extended) to a status, so that callers
// can tell retryable failures from the rest:
//   SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_PROTOCOL -> Unavailable
//     (another connection holds the lock, or the disk or file is not reachable now: retry);
//   SQLITE_FULL -> ResourceExhausted (disk full);
//   SQLITE_CORRUPT, SQLITE_NOTADB -> DataLoss (the file is damaged: retrying will not help);
//   anything else -> Internal (a broken invariant: bad SQL, constraint, misuse).
// The message is "<context>: <sqlite3_errstr(rc)>", plus " (<sqlite3_errmsg(db)>)" when `db`
// is given and its last error is `rc`.
absl::Status SqliteStatus(int rc, absl::string_view context, sqlite3* db = nullptr);

struct SqliteDbOptions {
  // Prefixes every error message, e.g. "experiment store" -> "experiment store: step ...".
  std::string name = "sqlite";
  // How long a statement waits for another connection's lock before failing with Unavailable.
  int busy_timeout_ms = 5000;
  // PRAGMA synchronous under WAL: "NORMAL" is durable across process crashes, "FULL" also
  // across power loss (each commit is fsynced).
  std::string synchronous = "NORMAL";
  bool foreign_keys = false;
  // Serialized threading mode (SQLITE_OPEN_FULLMUTEX) instead of multi-thread (NOMUTEX). Either
  // way a SqliteDb must not be used by two threads at once; callers hold their own mutex.
  bool full_mutex = false;
  // Run once after the pragmas (CREATE TABLE IF NOT EXISTS ...); may hold several statements.
  std::string schema;
};

class SqliteStatement;

// One connection to a database file, closed on destruction. Not thread-safe: its owner
// serialises calls (every store holds a mutex around it).
class SqliteDb {
 public:
  // Opens or creates `path` (":memory:" for an in-memory database), switches it to WAL, sets
  // the pragmas of `options` and runs `options.schema`. Unavailable "<name>: cannot open
  // <path>: ..." if the file cannot be opened (e.g. its directory is missing) or WAL cannot be
  // enabled; otherwise the SqliteStatus code of the failing pragma or schema statement (e.g.
  // DataLoss for a file that is not a database), the message naming `path`.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                        const SqliteDbOptions& options);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows we need.
  absl::Status Exec(absl::string_view sql);
  // Compiles one statement; errors name it.
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;

  const std::string& name() const { return name_; }
  sqlite3* raw() const { return db_; }

 private:
  SqliteDb(sqlite3* db, std::string name) : db_(db), name_(std::move(name)) {}

  sqlite3* db_;  // owned
  std::string name_;
};

// A prepared statement, finalized on destruction. Bind errors (only possible for a wrong
// index: a programming error) are kept and reported by the next Step(). Indexes: parameters
// from 1 (?1), columns from 0. Errors read "<db name>: <what> `<statement>`: <sqlite message>".
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value);
  void BindInt(int index, int64_t value);
  void BindDouble(int index, double value);

  // True when a row is available, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Steps until done, for a statement that returns no rows we need.
  absl::Status Run();
  // Ready to be bound and run again (bindings cleared).
  void Reset();

  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  // The column's bytes, valid until the next Step/Reset.
  absl::string_view Blob(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(const SqliteDb* db, sqlite3_stmt* stmt, std::string label)
      : db_(db), stmt_(stmt), label_(std::move(label)) {}
  void Check(int rc);
  absl::Status Error(int rc, absl::string_view what) const;

  const SqliteDb* db_;
  sqlite3_stmt* stmt_;
  std::string label_;  // the statement, shortened, for error messages
  int bind_rc_ = 0;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back on destruction unless committed, so a batch is
// written completely or not at all.
class SqliteTransaction {
 public:
  // Unavailable while another connection holds the write lock past the busy timeout.
  static absl::StatusOr<SqliteTransaction> Begin(SqliteDb& db);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  // Commits; on failure the transaction is rolled back and the error returned.
  absl::Status Commit();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;  // null once committed or rolled back
};

// Runs `body` (returning absl::Status) inside a SqliteTransaction; commits when it succeeds,
// rolls back and returns its error when it fails.
template <typename Body>
absl::Status InSqliteTransaction(SqliteDb& db, Body body) {
  absl::StatusOr<SqliteTransaction> transaction = SqliteTransaction::Begin(db);
  if (!transaction.ok()) return transaction.status();
  absl::Status status = body();
  if (!status.ok()) return status;  // ~SqliteTransaction rolls back
  return transaction->Commit();
}

// A table of named counters: CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER).
inline constexpr char kSqliteCountersSchema[] =
    "CREATE TABLE IF NOT EXISTS counters ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL);";

// Increments the `counter` row of `counters` (created at 1) and returns its new value.
absl::StatusOr<int64_t> NextSqliteCounter(SqliteDb& db, absl::string_view counter);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_SQLITE_DB_H_
