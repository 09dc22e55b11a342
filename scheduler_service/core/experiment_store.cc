#include "scheduler_service/core/experiment_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "scheduler_service/core/sqlite_db.h"

namespace jepalab::scheduler {
namespace {

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS experiments ("
    "  id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  proto BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS counters ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL);";

}  // namespace

absl::StatusOr<std::unique_ptr<ExperimentStore>> ExperimentStore::Open(
    const std::string& data_dir) {
  JEPALAB_ASSIGN_OR_RETURN(sqlite3* db, OpenSchedulerDb(data_dir, "experiment store", kSchema));
  return std::unique_ptr<ExperimentStore>(new ExperimentStore(db));
}

ExperimentStore::~ExperimentStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status ExperimentStore::PutLocked(const Experiment& experiment) {
  // A new row gets the next seq; an update keeps its row's seq (upsert leaves it alone).
  return UpsertStoredProto(db_, "experiment store",
                           "INSERT INTO experiments (id, seq, proto) VALUES "
                           "(?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM experiments), ?2) "
                           "ON CONFLICT(id) DO UPDATE SET proto = excluded.proto;",
                           "experiment", experiment.id(), experiment);
}

absl::Status ExperimentStore::Put(const Experiment& experiment) {
  absl::MutexLock lock(&mu_);
  return PutLocked(experiment);
}

absl::Status ExperimentStore::PutAll(const std::vector<Experiment>& experiments) {
  absl::MutexLock lock(&mu_);
  JEPALAB_RETURN_IF_ERROR(ExecSql(db_, "experiment store", "BEGIN IMMEDIATE;"));
  for (const Experiment& experiment : experiments) {
    absl::Status status = PutLocked(experiment);
    if (!status.ok()) {
      ExecSql(db_, "experiment store", "ROLLBACK;").IgnoreError();
      return status;
    }
  }
  return ExecSql(db_, "experiment store", "COMMIT;");
}

absl::StatusOr<Experiment> ExperimentStore::Get(const std::string& id) {
  absl::MutexLock lock(&mu_);
  SqliteStatement stmt(db_, "SELECT proto FROM experiments WHERE id = ?1;");
  if (stmt.get() == nullptr) return SqliteError(db_, "experiment store", "prepare get");
  sqlite3_bind_text(stmt.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("experiment ", id, " not found"));
  if (rc != SQLITE_ROW) return SqliteError(db_, "experiment store", absl::StrCat("get ", id));
  Experiment experiment;
  if (!experiment.ParseFromArray(sqlite3_column_blob(stmt.get(), 0),
                                 sqlite3_column_bytes(stmt.get(), 0))) {
    return absl::InternalError(absl::StrCat("experiment ", id, ": stored record is corrupt"));
  }
  return experiment;
}

absl::StatusOr<std::vector<Experiment>> ExperimentStore::List() {
  absl::MutexLock lock(&mu_);
  return ListStoredProtos<Experiment>(db_, "experiment store", "SELECT id, proto FROM experiments ORDER BY seq;", "experiment");
}

absl::StatusOr<int64_t> ExperimentStore::NextSequence() {
  absl::MutexLock lock(&mu_);
  return NextCounterValue(db_, "experiment store", "experiment_seq");
}

}  // namespace jepalab::scheduler
