#include "common/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace jepalab::common {
namespace {

// The statement as error messages quote it: whitespace collapsed, at most 80 characters.
std::string StatementLabel(absl::string_view sql) {
  std::string label;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(sql)) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !label.empty()) label.push_back(' ');
    space = false;
    label.push_back(c);
  }
  constexpr size_t kMaxLabel = 80;
  if (label.size() > kMaxLabel) label = absl::StrCat(label.substr(0, kMaxLabel - 3), "...");
  return label;
}

}  // namespace

absl::Status SqliteStatus(int rc, absl::string_view context, sqlite3* db) {
  std::string message = absl::StrCat(context, ": ", sqlite3_errstr(rc));
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) {
    absl::StrAppend(&message, " (", sqlite3_errmsg(db), ")");
  }
  switch (rc & 0xff) {
    case SQLITE_OK:
      return absl::OkStatus();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

// --- SqliteDb ---

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                         const SqliteDbOptions& options) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                    (options.full_mutex ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat(options.name, ": cannot open ", path, ": ",
                     raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_close(raw);
    return error;
  }
  sqlite3_extended_result_codes(raw, 1);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, options.name));
  // Another connection (a second store on the file, a backup, the sqlite3 CLI) may hold the
  // lock briefly: wait for it rather than fail.
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  auto with_path = [&](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  };
  {
    // WAL: readers never block the writer. This is also the first read of the file, so a file
    // that is not a database fails here (DataLoss).
    absl::StatusOr<SqliteStatement> wal = db->Prepare("PRAGMA journal_mode=WAL");
    if (!wal.ok()) return with_path(wal.status());
    absl::StatusOr<bool> row = wal->Step();
    if (!row.ok()) return with_path(row.status());
    const std::string mode = *row ? wal->Text(0) : "";
    // An in-memory database (":memory:") reports "memory"; it has nothing to make durable.
    if (mode != "wal" && mode != "memory") {
      return absl::UnavailableError(absl::StrCat(options.name, ": cannot open ", path,
                                                 ": cannot enable WAL, journal_mode=", mode));
    }
  }
  std::string pragmas = absl::StrCat("PRAGMA synchronous=", options.synchronous, ";");
  if (options.foreign_keys) absl::StrAppend(&pragmas, "PRAGMA foreign_keys=ON;");
  if (absl::Status status = db->Exec(pragmas); !status.ok()) return with_path(status);
  if (!options.schema.empty()) {
    if (absl::Status status = db->Exec(options.schema); !status.ok()) return with_path(status);
  }
  return db;
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

absl::Status SqliteDb::Exec(absl::string_view sql) {
  const std::string copy(sql);
  const int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return absl::OkStatus();
  return SqliteStatus(rc, absl::StrCat(name_, ": exec `", StatementLabel(sql), "`"), db_);
}

absl::StatusOr<SqliteStatement> SqliteDb::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(rc, absl::StrCat(name_, ": prepare `", StatementLabel(sql), "`"), db_);
  }
  return SqliteStatement(this, stmt, StatementLabel(sql));
}

int64_t SqliteDb::Changes() const { return sqlite3_changes(db_); }

// --- SqliteStatement ---

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      label_(std::move(other.label_)),
      bind_rc_(other.bind_rc_) {}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::Check(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

absl::Status SqliteStatement::Error(int rc, absl::string_view what) const {
  return SqliteStatus(rc, absl::StrCat(db_->name(), ": ", what, " `", label_, "`"), db_->raw());
}

void SqliteStatement::BindText(int index, absl::string_view value) {
  Check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT));
}

void SqliteStatement::BindBlob(int index, absl::string_view value) {
  Check(sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT));
}

void SqliteStatement::BindInt(int index, int64_t value) {
  Check(sqlite3_bind_int64(stmt_, index, value));
}

void SqliteStatement::BindDouble(int index, double value) {
  Check(sqlite3_bind_double(stmt_, index, value));
}

absl::StatusOr<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) return Error(bind_rc_, "bind");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(rc, "step");
}

absl::Status SqliteStatement::Run() {
  while (true) {
    JEPALAB_ASSIGN_OR_RETURN(const bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

int64_t SqliteStatement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double SqliteStatement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string SqliteStatement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

absl::string_view SqliteStatement::Blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return {};
  return absl::string_view(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, column));
}

// --- SqliteTransaction ---

absl::StatusOr<SqliteTransaction> SqliteTransaction::Begin(SqliteDb& db) {
  JEPALAB_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return SqliteTransaction(&db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  if (db_ != nullptr) db_->Exec("ROLLBACK").IgnoreError();
}

absl::Status SqliteTransaction::Commit() {
  SqliteDb* db = std::exchange(db_, nullptr);
  absl::Status status = db->Exec("COMMIT");
  // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY): end it.
  if (!status.ok() && sqlite3_get_autocommit(db->raw()) == 0) db->Exec("ROLLBACK").IgnoreError();
  return status;
}

// --- counters ---

absl::StatusOr<int64_t> NextSqliteCounter(SqliteDb& db, absl::string_view counter) {
  JEPALAB_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db.Prepare("INSERT INTO counters (name, value) VALUES (?1, 1) "
                 "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value;"));
  stmt.BindText(1, counter);
  JEPALAB_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) return absl::InternalError(absl::StrCat(db.name(), ": counter ", counter, ": no row"));
  const int64_t value = stmt.Int(0);
  JEPALAB_RETURN_IF_ERROR(stmt.Run());
  return value;
}

}  // namespace jepalab::common
