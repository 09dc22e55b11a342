// Cron schedules that submit a sweep or a plan periodically (e.g. a nightly ablation sweep).
// Schedules live in the scheduler's SQLite database; a runner thread fires the due ones. Every
// time is UTC. Firing policy (docs/scheduling.md):
//   - a schedule fires at the first tick at or after its next cron minute, then its next fire
//     time becomes the first cron minute strictly after "now";
//   - several windows due at once (the scheduler was down) fire ONCE, the extra windows counted
//     in ScheduleFiring.skipped_windows; so after a restart a missed window fires at most once;
//   - the advanced next fire time is stored BEFORE the target is submitted, so a crash between
//     the two never submits the same window twice (at most once, never twice);
//   - a paused schedule does not fire; resuming starts from the first cron minute after the
//     resume, windows missed while paused are skipped.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULE_RUNNER_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULE_RUNNER_H_

#include <functional>
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
#include "proto/scheduler.pb.h"
#include "scheduler_service/core/cron.h"
#include "scheduler_service/core/schedule_store.h"

namespace jepalab::scheduler {

struct ScheduleRunnerOptions {
  // Where the scheduler database lives (the Scheduler's data_dir); must exist.
  std::string data_dir;
  // Plan targets are validated like SubmitPlan: run config paths relative to this directory;
  // empty: the working directory.
  std::string config_root;
  // Submit a firing's target; return the new sweep id / plan id. Required. Called on the
  // runner thread (or Tick's caller) with no scheduler lock held.
  std::function<absl::StatusOr<std::string>(const v1::SubmitSweepRequest&)> submit_sweep;
  std::function<absl::StatusOr<std::string>(const v1::SubmitPlanRequest&)> submit_plan;
  // The time schedules are judged by. Null: the system clock. Not owned.
  const common::Clock* clock = nullptr;
  // Time (on `clock`) between two checks for due schedules on the runner thread.
  absl::Duration tick_interval = absl::Seconds(5);
  // false: no thread; the owner calls Tick() (deterministic tests).
  bool start_thread = true;
};

// Owns the runner thread. Thread-safe.
class ScheduleRunner {
 public:
  // At most this many firings are kept per schedule (the newest).
  static constexpr int kMaxFiringsKept = 20;

  // Opens the schedule table and reloads every schedule with its next fire time (a window
  // missed while the scheduler was down fires once, on the first tick). InvalidArgument for bad
  // options, Unavailable if the store cannot be opened, Internal for a corrupt stored schedule.
  static absl::StatusOr<std::unique_ptr<ScheduleRunner>> Create(
      const ScheduleRunnerOptions& options);
  ~ScheduleRunner();  // Shutdown()
  ScheduleRunner(const ScheduleRunner&) = delete;
  ScheduleRunner& operator=(const ScheduleRunner&) = delete;

  // Validates everything, then stores the schedule. InvalidArgument naming the field: "name:",
  // "cron: ...", "timezone: only UTC is supported", "target: set sweep or plan", "sweep: ..."
  // (expansion or a variant's config), "plan: <path>: ..." (as SubmitPlan would refuse it).
  // AlreadyExists for a taken name.
  absl::StatusOr<v1::Schedule> CreateSchedule(const v1::CreateScheduleRequest& request);
  // Every schedule in creation order, targets without their config/plan text.
  std::vector<v1::Schedule> ListSchedules() const;
  // NotFound for an unknown name (the same for the calls below).
  absl::StatusOr<v1::Schedule> GetSchedule(const std::string& name) const;
  absl::StatusOr<v1::Schedule> PauseSchedule(const std::string& name);
  absl::StatusOr<v1::Schedule> ResumeSchedule(const std::string& name);
  absl::Status DeleteSchedule(const std::string& name);

  // Fires every unpaused schedule whose next fire time is at or before the clock's now and
  // returns how many fired. The runner thread calls it every tick_interval.
  int Tick();

  // Stops the runner thread. Idempotent.
  void Shutdown();

 private:
  struct Entry {
    v1::Schedule schedule;
    CronSchedule cron;
  };

  ScheduleRunner(const ScheduleRunnerOptions& options, std::unique_ptr<ScheduleStore> store);
  void Loop();
  absl::Status ValidateTarget(const v1::CreateScheduleRequest& request) const;
  // Records the firing of one due schedule and submits its target.
  void FireLocked(Entry& entry, int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Entry* FindLocked(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t NowMs() const { return clock_->NowUnixMillis(); }

  const ScheduleRunnerOptions options_;
  const common::SystemClock system_clock_;
  const common::Clock* clock_;
  const std::unique_ptr<ScheduleStore> store_;

  // Held across a firing's submission too, so a schedule paused or deleted meanwhile never
  // fires after the call that paused or deleted it returned.
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Entry> schedules_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);  // names, creation order
  std::thread thread_;
  absl::Mutex shutdown_mu_;
};

// The next cron minute strictly after `after_ms` (UTC), in unix ms. InvalidArgument "cron: ..."
// if the schedule never fires.
absl::StatusOr<int64_t> NextFireUnixMs(const CronSchedule& cron, int64_t after_ms);

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_SCHEDULE_RUNNER_H_
