// The scheduler's record of every experiment and run: in memory for queries, persisted to the
// ExperimentStore, each experiment with a version that moves on every change.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_REGISTRY_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "proto/scheduler.pb.h"
#include "scheduler_service/core/experiment_state.h"
#include "scheduler_service/core/experiment_store.h"

namespace jepalab::scheduler {

// Thread-compatible: the Scheduler calls it under its mutex. Entries are never erased, so
// pointers to them stay valid. Does not own the clock.
class ExperimentRegistry {
 public:
  struct Entry {
    v1::Experiment experiment;
    int64_t version = 0;
    absl::Time last_persist = absl::InfinitePast();
  };

  // Progress-only changes are persisted at most every `progress_persist_interval`.
  ExperimentRegistry(std::unique_ptr<ExperimentStore> store, const common::Clock* clock,
                     absl::Duration progress_persist_interval);

  // Adds an experiment read back from the store (restart); nothing is written.
  Entry& Load(v1::Experiment experiment);
  // Stores new experiments (all or none, the store's error otherwise), then adds them.
  absl::Status Admit(const std::vector<v1::Experiment>& experiments);
  // The store's next sequence number for ids.
  absl::StatusOr<int64_t> NextSequence();

  // Null if unknown.
  Entry* Find(const std::string& experiment_id);
  const Entry* Find(const std::string& experiment_id) const;
  // The run's record and its experiment's entry; null if unknown.
  RunRecord* FindRun(const std::string& run_id, Entry** entry);

  // After any change to `entry`: recomputes the experiment's state (stamping finished_unix_ms
  // when it turns terminal), bumps the version, and writes it to the store when `persist`, the
  // state changed, or the last write is progress_persist_interval ago. A store error is logged.
  void Commit(Entry& entry, bool persist);

  // Experiments in submission order, filtered by state (empty: any) and sweep id (empty: any).
  std::vector<v1::Experiment> List(const std::vector<ExperimentState>& states,
                                   const std::string& sweep_id) const;
  // Active runs (on a trainer, not ended) per trainer address.
  std::map<std::string, int> ActiveRunsByTrainer() const;
  size_t size() const { return order_.size(); }

 private:
  struct RunRef {
    std::string experiment_id;
    int index = 0;
  };
  Entry& Add(v1::Experiment experiment);

  const std::unique_ptr<ExperimentStore> store_;
  const common::Clock* const clock_;
  const absl::Duration progress_persist_interval_;
  std::map<std::string, Entry> experiments_;
  std::vector<std::string> order_;  // experiment ids, submission order
  std::map<std::string, RunRef> runs_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_EXPERIMENT_REGISTRY_H_
