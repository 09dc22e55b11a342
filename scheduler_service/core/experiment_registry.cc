#include "scheduler_service/core/experiment_registry.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "common/status_macros.h"

namespace jepalab::scheduler {

ExperimentRegistry::ExperimentRegistry(std::unique_ptr<ExperimentStore> store,
                                       const common::Clock* clock,
                                       absl::Duration progress_persist_interval)
    : store_(std::move(store)),
      clock_(clock),
      progress_persist_interval_(progress_persist_interval) {}

ExperimentRegistry::Entry& ExperimentRegistry::Add(v1::Experiment experiment) {
  const std::string id = experiment.id();
  Entry& entry = experiments_[id];
  entry.experiment = std::move(experiment);
  order_.push_back(id);
  for (int i = 0; i < entry.experiment.runs_size(); ++i) {
    runs_[entry.experiment.runs(i).run_id()] = RunRef{id, i};
  }
  return entry;
}

ExperimentRegistry::Entry& ExperimentRegistry::Load(v1::Experiment experiment) {
  return Add(std::move(experiment));
}

absl::Status ExperimentRegistry::Admit(const std::vector<v1::Experiment>& experiments) {
  JEPALAB_RETURN_IF_ERROR(store_->PutAll(experiments));
  for (const v1::Experiment& experiment : experiments) {
    Entry& entry = Add(experiment);
    entry.version = 1;
    entry.last_persist = clock_->Now();
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ExperimentRegistry::NextSequence() { return store_->NextSequence(); }

ExperimentRegistry::Entry* ExperimentRegistry::Find(const std::string& experiment_id) {
  auto it = experiments_.find(experiment_id);
  return it == experiments_.end() ? nullptr : &it->second;
}

const ExperimentRegistry::Entry* ExperimentRegistry::Find(const std::string& experiment_id) const {
  auto it = experiments_.find(experiment_id);
  return it == experiments_.end() ? nullptr : &it->second;
}

RunRecord* ExperimentRegistry::FindRun(const std::string& run_id, Entry** entry) {
  auto ref = runs_.find(run_id);
  if (ref == runs_.end()) return nullptr;
  Entry* found = Find(ref->second.experiment_id);
  if (found == nullptr) return nullptr;
  *entry = found;
  return found->experiment.mutable_runs(ref->second.index);
}

void ExperimentRegistry::Commit(Entry& entry, bool persist) {
  v1::Experiment& experiment = entry.experiment;
  const ExperimentState before = experiment.state();
  const ExperimentState after = ComputeExperimentState(experiment);
  if (after != before) {
    experiment.set_state(after);
    if (IsTerminal(after) && experiment.finished_unix_ms() == 0) {
      experiment.set_finished_unix_ms(clock_->NowUnixMillis());
    }
    LOG(INFO) << "experiment " << experiment.id() << " is now " << v1::ExperimentState_Name(after);
  }
  ++entry.version;
  const absl::Time now = clock_->Now();
  if (persist || after != before || now - entry.last_persist >= progress_persist_interval_) {
    absl::Status status = store_->Put(experiment);
    if (!status.ok()) LOG(ERROR) << "persist experiment " << experiment.id() << ": " << status;
    entry.last_persist = now;
  }
}

std::vector<v1::Experiment> ExperimentRegistry::List(const std::vector<ExperimentState>& states,
                                                     const std::string& sweep_id) const {
  std::vector<v1::Experiment> result;
  for (const std::string& id : order_) {
    const v1::Experiment& experiment = experiments_.at(id).experiment;
    if (!states.empty() &&
        std::find(states.begin(), states.end(), experiment.state()) == states.end()) {
      continue;
    }
    if (!sweep_id.empty() && experiment.sweep_id() != sweep_id) continue;
    result.push_back(experiment);
  }
  return result;
}

std::map<std::string, int> ExperimentRegistry::ActiveRunsByTrainer() const {
  std::map<std::string, int> active;
  for (const auto& [id, entry] : experiments_) {
    for (const RunRecord& run : entry.experiment.runs()) {
      if (!run.trainer().empty() && !common::IsTerminal(run.state())) ++active[run.trainer()];
    }
  }
  return active;
}

}  // namespace jepalab::scheduler
