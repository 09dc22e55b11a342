// Runs diagnostic plans (plan.h) through the Scheduler: stage by stage, one experiment per plan
// run, each finished stage judged from metrics_service histories (verdict.h) to choose the next
// stage, and the plan's verdict computed when the decision tree ends. Plan state lives in the
// scheduler's SQLite database, so a restarted scheduler continues each plan where it was
// without submitting a finished stage again.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_PLAN_RUNNER_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_PLAN_RUNNER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "proto/config/plan_config.pb.h"
#include "proto/scheduler.pb.h"
#include "scheduler_service/core/metrics_client.h"
#include "scheduler_service/core/plan_store.h"
#include "scheduler_service/core/scheduler.h"
#include "scheduler_service/core/verdict.h"

namespace jepalab::scheduler {

struct PlanRunnerOptions {
  // Where the scheduler database lives (the Scheduler's data_dir); must exist.
  std::string data_dir;
  // Run config paths in a plan ("configs/training/x.yaml") are read relative to this directory
  // when the plan is submitted; empty: the working directory. The files are copied into the
  // plan record, so later edits do not change an accepted plan.
  std::string config_root;
  // Submits and follows the experiments. Not owned; must outlive the runner.
  Scheduler* scheduler = nullptr;
  // Where finished runs' histories come from.
  std::shared_ptr<MetricsClient> metrics;
  // Timestamps. Null: the system clock. Not owned.
  const common::Clock* clock = nullptr;
  // How often running plans are checked for finished stages (and failed steps retried).
  absl::Duration poll_interval = absl::Seconds(1);
};

// A consistent copy of one plan; `version` increases with every stored change.
struct PlanSnapshot {
  v1::Plan plan;
  int64_t version = 0;
  bool finished = false;  // SUCCEEDED, FAILED or CANCELLED
};

// Owns one background thread that advances running plans. Thread-safe.
class PlanRunner {
 public:
  // Opens the plan table and reloads every plan; running plans continue on the background
  // thread. InvalidArgument for bad options, Unavailable if the store cannot be opened.
  static absl::StatusOr<std::unique_ptr<PlanRunner>> Create(const PlanRunnerOptions& options);
  ~PlanRunner();  // Shutdown()
  PlanRunner(const PlanRunner&) = delete;
  PlanRunner& operator=(const PlanRunner&) = delete;

  // Parses and validates the plan (every run config must exist under config_root and load with
  // its overrides), stores it as "<name>-<4-digit sequence>" and submits its first stage.
  // InvalidArgument names the plan field ("stages[0].runs[1].config: file not found: ...");
  // nothing is stored unless the plan is valid.
  absl::StatusOr<v1::Plan> SubmitPlan(const v1::SubmitPlanRequest& request);

  // With each run's live experiment state. NotFound for an unknown id.
  absl::StatusOr<v1::Plan> GetPlan(const std::string& id) const;
  // Every plan in submission order, without plan_yaml and config_files.
  std::vector<v1::Plan> ListPlans() const;

  // Cancels the plan's unfinished experiments and ends it CANCELLED. NotFound: unknown id.
  // FailedPrecondition: the plan already finished.
  absl::StatusOr<v1::Plan> CancelPlan(const std::string& id);

  // Waits until the plan's version exceeds `after_version` or `deadline` passes. NotFound:
  // unknown id. Unavailable: shutting down.
  absl::StatusOr<PlanSnapshot> WaitForChange(const std::string& id, int64_t after_version,
                                             absl::Time deadline) const;

  // Stops the background thread; the plans' experiments go on in the Scheduler and the next
  // Create() continues the plans. Idempotent.
  void Shutdown();

 private:
  struct Entry {
    v1::Plan plan;
    ::jepalab::config::v1::PlanConfig config;  // parsed plan_yaml, seeds override applied
    int64_t version = 0;
    std::string last_error;  // of the last Advance, logged once
  };

  PlanRunner(const PlanRunnerOptions& options, std::unique_ptr<PlanStore> store);

  void Loop();
  // Moves plan `id` as far as it can go now: submits the current stage's missing experiments,
  // and once they all finished judges them, takes a branch, and ends the plan with its verdict.
  // Idempotent; a non-OK status (metrics or queue unavailable) is retried on the next tick.
  absl::Status Advance(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AdvanceLocked(v1::Plan& plan, const ::jepalab::config::v1::PlanConfig& config)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(advance_mu_);
  // Submits the experiment of one plan run (or finds one submitted before a crash).
  absl::Status SubmitRun(v1::Plan& plan, const ::jepalab::config::v1::PlanConfig& config,
                         const ::jepalab::config::v1::PlanRun& run, v1::PlanRunStatus& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(advance_mu_);
  // The finished experiment's seeds with their metric histories.
  absl::StatusOr<PlanRunResults> FetchResults(const std::string& experiment_id);
  // Stores the plan and publishes it (version + 1).
  absl::Status Commit(const v1::Plan& plan);
  int64_t NowMs() const;

  const PlanRunnerOptions options_;
  const common::SystemClock system_clock_;
  const common::Clock* clock_;
  const std::unique_ptr<PlanStore> store_;

  absl::Mutex advance_mu_;  // serialises Advance, SubmitPlan's first step and CancelPlan
  // Fetched results of finished plan runs, by plan id then run name (not persisted).
  std::map<std::string, PlanResults> results_ ABSL_GUARDED_BY(advance_mu_);
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Entry> plans_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
  absl::Mutex shutdown_mu_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_PLAN_RUNNER_H_
