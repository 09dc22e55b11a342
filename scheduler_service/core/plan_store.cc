#include "scheduler_service/core/plan_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "scheduler_service/core/sqlite_db.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<PlanStore>> PlanStore::Open(const std::string& data_dir) {
  JEPALAB_ASSIGN_OR_RETURN(sqlite3* db, OpenSchedulerDb(data_dir, "plan store", kSchema));
  return std::unique_ptr<PlanStore>(new PlanStore(db));
}

PlanStore::~PlanStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status PlanStore::Put(const v1::Plan& plan) {
  std::string blob;
  if (!plan.SerializeToString(&blob)) {
    return absl::InternalError(absl::StrCat("plan ", plan.id(), ": cannot serialize"));
  }
  absl::MutexLock lock(&mu_);
  SqliteStatement stmt(db_,
                 "INSERT INTO plans (id, seq, proto) VALUES "
                 "(?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM plans), ?2) "
                 "ON CONFLICT(id) DO UPDATE SET proto = excluded.proto;");
  if (stmt.get() == nullptr) return SqliteError(db_, "plan store", "prepare put");
  sqlite3_bind_text(stmt.get(), 1, plan.id().data(), static_cast<int>(plan.id().size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_blob(stmt.get(), 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
    return SqliteError(db_, "plan store", absl::StrCat("put ", plan.id()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Plan>> PlanStore::List() {
  absl::MutexLock lock(&mu_);
  return ListStoredProtos<v1::Plan>(db_, "plan store", "SELECT id, proto FROM plans ORDER BY seq;", "plan");
}

absl::StatusOr<int64_t> PlanStore::NextSequence() {
  absl::MutexLock lock(&mu_);
  return NextCounterValue(db_, "plan store", "plan_seq");
}

}  // namespace jepalab::scheduler
