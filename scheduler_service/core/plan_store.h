// Durable store of Plan records: a `plans` table in the scheduler's SQLite database
// (<data_dir>/scheduler.db, beside the experiments), so a restarted scheduler continues every
// plan where it was.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_PLAN_STORE_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_PLAN_STORE_H_

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

// Owns its own database connection. Thread-safe (calls are serialised).
class PlanStore {
 public:
  // Opens (creating if needed) `<data_dir>/scheduler.db`; `data_dir` must exist.
  // Unavailable if the database cannot be opened or is locked, DataLoss if it is corrupt.
  // Every method's SQLite errors follow common::SqliteStatus (Unavailable only when busy).
  static absl::StatusOr<std::unique_ptr<PlanStore>> Open(const std::string& data_dir);
  ~PlanStore();
  PlanStore(const PlanStore&) = delete;
  PlanStore& operator=(const PlanStore&) = delete;

  // Inserts or replaces a plan by id; a new id is listed after every id stored before it.
  absl::Status Put(const v1::Plan& plan);
  // Every plan, in the order first stored.
  absl::StatusOr<std::vector<v1::Plan>> List();
  // 1, 2, 3, ... persisted (its own counter, separate from the experiments').
  absl::StatusOr<int64_t> NextSequence();

 private:
  explicit PlanStore(std::unique_ptr<common::SqliteDb> db);

  absl::Mutex mu_;
  const std::unique_ptr<common::SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  common::ProtoBlobTable<v1::Plan> plans_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_PLAN_STORE_H_
