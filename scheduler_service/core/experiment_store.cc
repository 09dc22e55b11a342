#include "scheduler_service/core/experiment_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace jepalab::scheduler {

absl::StatusOr<std::unique_ptr<ExperimentStore>> ExperimentStore::Open(
    const std::string& data_dir) {
  common::SqliteDbOptions options;
  options.name = "experiment store";
  // The stores share scheduler.db over separate connections, each used from several threads.
  options.full_mutex = true;
  options.schema = absl::StrCat(common::ProtoBlobTable<Experiment>::Schema("experiments", "id"),
                                common::kSqliteCountersSchema);
  JEPALAB_ASSIGN_OR_RETURN(
      std::unique_ptr<common::SqliteDb> db,
      common::SqliteDb::Open(absl::StrCat(data_dir, "/scheduler.db"), options));
  return std::unique_ptr<ExperimentStore>(new ExperimentStore(std::move(db)));
}

ExperimentStore::ExperimentStore(std::unique_ptr<common::SqliteDb> db)
    : db_(std::move(db)), experiments_(db_.get(), "experiments", "id", "experiment") {}

ExperimentStore::~ExperimentStore() = default;

absl::Status ExperimentStore::Put(const Experiment& experiment) {
  absl::MutexLock lock(&mu_);
  return experiments_.Put(experiment.id(), experiment);
}

absl::Status ExperimentStore::PutAll(const std::vector<Experiment>& experiments) {
  absl::MutexLock lock(&mu_);
  return common::InSqliteTransaction(*db_, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Experiment& experiment : experiments) {
      JEPALAB_RETURN_IF_ERROR(experiments_.Put(experiment.id(), experiment));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<Experiment> ExperimentStore::Get(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return experiments_.Get(id);
}

absl::StatusOr<std::vector<Experiment>> ExperimentStore::List() {
  absl::MutexLock lock(&mu_);
  return experiments_.List();
}

absl::StatusOr<int64_t> ExperimentStore::NextSequence() {
  absl::MutexLock lock(&mu_);
  return common::NextSqliteCounter(*db_, "experiment_seq");
}

}  // namespace jepalab::scheduler
