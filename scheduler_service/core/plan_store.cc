#include "scheduler_service/core/plan_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace jepalab::scheduler {

absl::StatusOr<std::unique_ptr<PlanStore>> PlanStore::Open(const std::string& data_dir) {
  common::SqliteDbOptions options;
  options.name = "plan store";
  // The stores share scheduler.db over separate connections, each used from several threads.
  options.full_mutex = true;
  // `counters` is shared with ExperimentStore (same schema); plans use the row "plan_seq".
  options.schema = absl::StrCat(common::ProtoBlobTable<v1::Plan>::Schema("plans", "id"),
                                common::kSqliteCountersSchema);
  JEPALAB_ASSIGN_OR_RETURN(
      std::unique_ptr<common::SqliteDb> db,
      common::SqliteDb::Open(absl::StrCat(data_dir, "/scheduler.db"), options));
  return std::unique_ptr<PlanStore>(new PlanStore(std::move(db)));
}

PlanStore::PlanStore(std::unique_ptr<common::SqliteDb> db)
    : db_(std::move(db)), plans_(db_.get(), "plans", "id", "plan") {}

PlanStore::~PlanStore() = default;

absl::Status PlanStore::Put(const v1::Plan& plan) {
  absl::MutexLock lock(&mu_);
  return plans_.Put(plan.id(), plan);
}

absl::StatusOr<std::vector<v1::Plan>> PlanStore::List() {
  absl::MutexLock lock(&mu_);
  return plans_.List();
}

absl::StatusOr<int64_t> PlanStore::NextSequence() {
  absl::MutexLock lock(&mu_);
  return common::NextSqliteCounter(*db_, "plan_seq");
}

}  // namespace jepalab::scheduler
