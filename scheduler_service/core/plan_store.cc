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
  absl::MutexLock lock(&mu_);
  // A new row gets the next seq; an update keeps its row's seq (upsert leaves it alone).
  return UpsertStoredProto(db_, "plan store",
                           "INSERT INTO plans (id, seq, proto) VALUES "
                           "(?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM plans), ?2) "
                           "ON CONFLICT(id) DO UPDATE SET proto = excluded.proto;",
                           "plan", plan.id(), plan);
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
