// Durable store of Experiment records: one SQLite database (WAL) under the scheduler's data
// dir, so a restarted scheduler gets back every experiment, queued run and running run.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_STORE_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/proto_blob_table.h"
#include "common/sqlite_db.h"
#include "proto/scheduler.pb.h"

namespace jepalab::scheduler {

using ::jepalab::scheduler::v1::Experiment;

// Owns the database connection. Thread-safe (calls are serialised).
class ExperimentStore {
 public:
  // Opens (creating if needed) `<data_dir>/scheduler.db`; `data_dir` must exist.
  // Unavailable if the database cannot be opened or is locked, DataLoss if it is corrupt.
  // Every method's SQLite errors follow common::SqliteStatus (Unavailable only when busy).
  static absl::StatusOr<std::unique_ptr<ExperimentStore>> Open(const std::string& data_dir);
  ~ExperimentStore();
  ExperimentStore(const ExperimentStore&) = delete;
  ExperimentStore& operator=(const ExperimentStore&) = delete;

  // Inserts or replaces experiments by id, all in one transaction (all or none). A new id is
  // listed after every id stored before it.
  absl::Status Put(const Experiment& experiment);
  absl::Status PutAll(const std::vector<Experiment>& experiments);

  // NotFound for an unknown id.
  absl::StatusOr<Experiment> Get(const std::string& id);
  // Every experiment, in the order first stored.
  absl::StatusOr<std::vector<Experiment>> List();

  // 1, 2, 3, ... persisted, so names stay unique across restarts.
  absl::StatusOr<int64_t> NextSequence();

 private:
  explicit ExperimentStore(std::unique_ptr<common::SqliteDb> db);

  absl::Mutex mu_;
  const std::unique_ptr<common::SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  common::ProtoBlobTable<Experiment> experiments_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_STORE_H_
