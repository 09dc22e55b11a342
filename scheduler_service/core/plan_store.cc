#include "scheduler_service/core/plan_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace jepalab::scheduler {
namespace {

// `counters` is shared with ExperimentStore (same schema); plans use the row "plan_seq".
constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS plans ("
    "  id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  proto BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS counters ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL);";

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("plan store: ", what, ": ", sqlite3_errmsg(db)));
}

// Finalizes the statement on every return path.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PlanStore>> PlanStore::Open(const std::string& data_dir) {
  const std::string path = absl::StrCat(data_dir, "/scheduler.db");
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("plan store: cannot open ", path, ": ",
                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return status;
  }
  // The experiment store writes to the same file over its own connection.
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<PlanStore> store(new PlanStore(db));
  absl::MutexLock lock(&store->mu_);
  JEPALAB_RETURN_IF_ERROR(store->ExecLocked("PRAGMA journal_mode=WAL;"));
  JEPALAB_RETURN_IF_ERROR(store->ExecLocked("PRAGMA synchronous=NORMAL;"));
  JEPALAB_RETURN_IF_ERROR(store->ExecLocked(kSchema));
  return store;
}

PlanStore::~PlanStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status PlanStore::ExecLocked(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status =
        absl::UnavailableError(absl::StrCat("plan store: ", error ? error : "exec failed"));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::Status PlanStore::Put(const v1::Plan& plan) {
  std::string blob;
  if (!plan.SerializeToString(&blob)) {
    return absl::InternalError(absl::StrCat("plan ", plan.id(), ": cannot serialize"));
  }
  absl::MutexLock lock(&mu_);
  Statement stmt(db_,
                 "INSERT INTO plans (id, seq, proto) VALUES "
                 "(?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM plans), ?2) "
                 "ON CONFLICT(id) DO UPDATE SET proto = excluded.proto;");
  if (stmt.get() == nullptr) return SqliteError(db_, "prepare put");
  sqlite3_bind_text(stmt.get(), 1, plan.id().data(), static_cast<int>(plan.id().size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_blob(stmt.get(), 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
    return SqliteError(db_, absl::StrCat("put ", plan.id()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Plan>> PlanStore::List() {
  absl::MutexLock lock(&mu_);
  Statement stmt(db_, "SELECT id, proto FROM plans ORDER BY seq;");
  if (stmt.get() == nullptr) return SqliteError(db_, "prepare list");
  std::vector<v1::Plan> plans;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    v1::Plan& plan = plans.emplace_back();
    if (!plan.ParseFromArray(sqlite3_column_blob(stmt.get(), 1),
                             sqlite3_column_bytes(stmt.get(), 1))) {
      return absl::InternalError(absl::StrCat(
          "plan ", reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)),
          ": stored record is corrupt"));
    }
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "list");
  return plans;
}

absl::StatusOr<int64_t> PlanStore::NextSequence() {
  absl::MutexLock lock(&mu_);
  Statement stmt(db_,
                 "INSERT INTO counters (name, value) VALUES ('plan_seq', 1) "
                 "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value;");
  if (stmt.get() == nullptr) return SqliteError(db_, "prepare sequence");
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return SqliteError(db_, "next sequence");
  int64_t value = sqlite3_column_int64(stmt.get(), 0);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqliteError(db_, "next sequence");
  return value;
}

}  // namespace jepalab::scheduler
