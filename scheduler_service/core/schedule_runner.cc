#include "scheduler_service/core/schedule_runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "config/plan.h"
#include "config/plan_submission.h"
#include "config/sweep.h"
#include "config/trainer_config.h"

namespace jepalab::scheduler {

using ::jepalab::config::ExpandSweep;
using ::jepalab::config::LoadTrainerConfig;
using ::jepalab::config::ResolvedPlan;
using ::jepalab::config::ResolvePlanSubmission;
using ::jepalab::config::SweepPoint;
using ::jepalab::config::SweepSpecFromRequest;
using ::jepalab::config::ToPlanSubmission;
using ::jepalab::config::TrainerConfig;
namespace {

// Due windows counted per firing at most (an every-minute schedule down for a week is 10080).
constexpr int kMaxSkippedCounted = 100000;

// The list view: the target's text (config or plan YAML, up to 1 MiB each) left out.
v1::Schedule WithoutTargetText(v1::Schedule schedule) {
  if (schedule.has_sweep()) schedule.mutable_sweep()->clear_config_yaml();
  if (schedule.has_plan()) schedule.mutable_plan()->clear_plan_yaml();
  return schedule;
}

absl::Status ValidateSweepTarget(const v1::SubmitSweepRequest& sweep) {
  if (sweep.config_yaml().empty()) {
    return absl::InvalidArgumentError("sweep.config_yaml: must not be empty");
  }
  absl::StatusOr<std::vector<SweepPoint>> points = ExpandSweep(SweepSpecFromRequest(sweep));
  if (!points.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("sweep: ", points.status().message()));
  }
  const std::string source = sweep.config_path().empty() ? "<sweep config>" : sweep.config_path();
  for (const SweepPoint& point : *points) {
    absl::StatusOr<TrainerConfig> config =
        LoadTrainerConfig(sweep.config_yaml(), source, point.overrides);
    if (!config.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sweep: ", point.field, ": ", config.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> NextFireUnixMs(const CronSchedule& cron, int64_t after_ms) {
  absl::StatusOr<absl::Time> next = cron.Next(absl::FromUnixMillis(after_ms), absl::UTCTimeZone());
  if (!next.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron: \"", cron.expression(), "\" never fires: ", next.status().message()));
  }
  return absl::ToUnixMillis(*next);
}

absl::StatusOr<std::unique_ptr<ScheduleRunner>> ScheduleRunner::Create(
    const ScheduleRunnerOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must be set");
  if (!options.submit_sweep || !options.submit_plan) {
    return absl::InvalidArgumentError("submit_sweep and submit_plan: must be set");
  }
  JEPALAB_ASSIGN_OR_RETURN(std::unique_ptr<ScheduleStore> store,
                           ScheduleStore::Open(options.data_dir));
  JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::Schedule> stored, store->List());
  std::unique_ptr<ScheduleRunner> runner(new ScheduleRunner(options, std::move(store)));
  {
    absl::MutexLock lock(&runner->mu_);
    for (v1::Schedule& schedule : stored) {
      absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(schedule.cron());
      if (!cron.ok()) {
        return absl::InternalError(
            absl::StrCat("schedule ", schedule.name(),
                         ": stored cron does not parse: ", cron.status().message()));
      }
      const std::string name = schedule.name();
      runner->schedules_.emplace(name, Entry{std::move(schedule), *std::move(cron)});
      runner->order_.push_back(name);
    }
    LOG(INFO) << "schedule runner: loaded " << runner->order_.size() << " schedules";
  }
  if (options.start_thread) runner->thread_ = std::thread(&ScheduleRunner::Loop, runner.get());
  return runner;
}

ScheduleRunner::ScheduleRunner(const ScheduleRunnerOptions& options,
                               std::unique_ptr<ScheduleStore> store)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      store_(std::move(store)) {}

ScheduleRunner::~ScheduleRunner() { Shutdown(); }

void ScheduleRunner::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ScheduleRunner::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // On the injected clock, so a fake clock's move is what wakes it in tests.
      clock_->AwaitWithTimeout(&mu_, absl::Condition(&stopping_), options_.tick_interval);
      if (stopping_) return;
    }
    Tick();
  }
}

absl::Status ScheduleRunner::ValidateTarget(const v1::CreateScheduleRequest& request) const {
  switch (request.target_case()) {
    case v1::CreateScheduleRequest::kSweep:
      return ValidateSweepTarget(request.sweep());
    case v1::CreateScheduleRequest::kPlan: {
      const v1::SchedulePlanTarget& plan = request.plan();
      if (plan.plan_yaml().empty()) {
        return absl::InvalidArgumentError("plan.plan_yaml: must not be empty");
      }
      absl::StatusOr<ResolvedPlan> resolved =
          ResolvePlanSubmission(ToPlanSubmission(plan, options_.config_root));
      if (!resolved.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("plan: ", resolved.status().message()));
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError("target: set sweep or plan");
  }
}

absl::StatusOr<v1::Schedule> ScheduleRunner::CreateSchedule(
    const v1::CreateScheduleRequest& request) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("name", request.name()));
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(request.cron());
  if (!cron.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cron: ", cron.status().message()));
  }
  if (!request.timezone().empty() && request.timezone() != "UTC") {
    return absl::InvalidArgumentError(
        absl::StrCat("timezone: only UTC is supported, got \"", request.timezone(), "\""));
  }
  JEPALAB_RETURN_IF_ERROR(ValidateTarget(request));

  absl::MutexLock lock(&mu_);
  if (schedules_.count(request.name()) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("schedule \"", request.name(), "\" exists"));
  }
  const int64_t now_ms = NowMs();
  v1::Schedule schedule;
  schedule.set_name(request.name());
  schedule.set_cron(request.cron());
  schedule.set_timezone("UTC");
  schedule.set_paused(request.paused());
  schedule.set_created_unix_ms(now_ms);
  if (request.has_sweep()) *schedule.mutable_sweep() = request.sweep();
  if (request.has_plan()) *schedule.mutable_plan() = request.plan();
  // Even a paused schedule must fire some day, so a never-firing cron is refused either way.
  JEPALAB_ASSIGN_OR_RETURN(const int64_t next_ms, NextFireUnixMs(*cron, now_ms));
  schedule.set_next_fire_unix_ms(request.paused() ? 0 : next_ms);
  JEPALAB_RETURN_IF_ERROR(store_->Put(schedule));
  schedules_.emplace(schedule.name(), Entry{schedule, *std::move(cron)});
  order_.push_back(schedule.name());
  LOG(INFO) << "schedule " << schedule.name() << " created: \"" << schedule.cron()
            << "\" UTC, next " << absl::FormatTime(absl::FromUnixMillis(next_ms));
  return schedule;
}

std::vector<v1::Schedule> ScheduleRunner::ListSchedules() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Schedule> list;
  for (const std::string& name : order_) {
    list.push_back(WithoutTargetText(schedules_.at(name).schedule));
  }
  return list;
}

ScheduleRunner::Entry* ScheduleRunner::FindLocked(const std::string& name) {
  auto it = schedules_.find(name);
  return it == schedules_.end() ? nullptr : &it->second;
}

absl::StatusOr<v1::Schedule> ScheduleRunner::GetSchedule(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = schedules_.find(name);
  if (it == schedules_.end()) {
    return absl::NotFoundError(absl::StrCat("schedule \"", name, "\" not found"));
  }
  return it->second.schedule;
}

absl::StatusOr<v1::Schedule> ScheduleRunner::PauseSchedule(const std::string& name) {
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLocked(name);
  if (entry == nullptr)
    return absl::NotFoundError(absl::StrCat("schedule \"", name, "\" not found"));
  if (entry->schedule.paused()) return entry->schedule;
  v1::Schedule updated = entry->schedule;
  updated.set_paused(true);
  updated.set_next_fire_unix_ms(0);
  JEPALAB_RETURN_IF_ERROR(store_->Put(updated));
  entry->schedule = updated;
  return updated;
}

absl::StatusOr<v1::Schedule> ScheduleRunner::ResumeSchedule(const std::string& name) {
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLocked(name);
  if (entry == nullptr)
    return absl::NotFoundError(absl::StrCat("schedule \"", name, "\" not found"));
  if (!entry->schedule.paused()) return entry->schedule;
  v1::Schedule updated = entry->schedule;
  updated.set_paused(false);
  JEPALAB_ASSIGN_OR_RETURN(const int64_t next_ms, NextFireUnixMs(entry->cron, NowMs()));
  updated.set_next_fire_unix_ms(next_ms);
  JEPALAB_RETURN_IF_ERROR(store_->Put(updated));
  entry->schedule = updated;
  return updated;
}

absl::Status ScheduleRunner::DeleteSchedule(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (FindLocked(name) == nullptr) {
    return absl::NotFoundError(absl::StrCat("schedule \"", name, "\" not found"));
  }
  JEPALAB_RETURN_IF_ERROR(store_->Delete(name));
  schedules_.erase(name);
  order_.erase(std::find(order_.begin(), order_.end(), name));
  return absl::OkStatus();
}

int ScheduleRunner::Tick() {
  absl::MutexLock lock(&mu_);
  const int64_t now_ms = NowMs();
  int fired = 0;
  for (const std::string& name : order_) {
    Entry& entry = schedules_.at(name);
    const v1::Schedule& schedule = entry.schedule;
    if (schedule.paused() || schedule.next_fire_unix_ms() <= 0 ||
        schedule.next_fire_unix_ms() > now_ms) {
      continue;
    }
    FireLocked(entry, now_ms);
    ++fired;
  }
  return fired;
}

void ScheduleRunner::FireLocked(Entry& entry, int64_t now_ms) {
  v1::Schedule updated = entry.schedule;
  v1::ScheduleFiring firing;
  firing.set_scheduled_unix_ms(updated.next_fire_unix_ms());
  firing.set_fired_unix_ms(now_ms);
  // Further windows that are also due fold into this one firing.
  int skipped = 0;
  for (int64_t t = updated.next_fire_unix_ms(); skipped < kMaxSkippedCounted; ++skipped) {
    absl::StatusOr<int64_t> next = NextFireUnixMs(entry.cron, t);
    if (!next.ok() || *next > now_ms) break;
    t = *next;
  }
  firing.set_skipped_windows(skipped);
  absl::StatusOr<int64_t> next = NextFireUnixMs(entry.cron, now_ms);
  updated.set_next_fire_unix_ms(next.ok() ? *next : 0);  // 0: it never fires again
  updated.set_fire_count(updated.fire_count() + 1);
  *updated.add_firings() = firing;
  if (updated.firings_size() > kMaxFiringsKept) {
    updated.mutable_firings()->DeleteSubrange(0, updated.firings_size() - kMaxFiringsKept);
  }
  // Stored before submitting: a crash from here on never fires this window again.
  if (absl::Status stored = store_->Put(updated); !stored.ok()) {
    LOG(WARNING) << "schedule " << updated.name()
                 << ": not fired, cannot store the firing: " << stored;
    return;  // retried on the next tick
  }
  entry.schedule = updated;

  v1::ScheduleFiring* recorded = updated.mutable_firings(updated.firings_size() - 1);
  if (updated.has_sweep()) {
    absl::StatusOr<std::string> id = options_.submit_sweep(updated.sweep());
    if (id.ok()) recorded->set_sweep_id(*id);
    if (!id.ok()) recorded->set_error(id.status().ToString());
  } else {
    v1::SubmitPlanRequest request;
    request.set_plan_yaml(updated.plan().plan_yaml());
    request.set_plan_path(updated.plan().plan_path());
    request.set_mini(updated.plan().mini());
    request.set_scale(updated.plan().scale());
    *request.mutable_seeds() = updated.plan().seeds();
    *request.mutable_overrides() = updated.plan().overrides();
    *request.mutable_config_files() = updated.plan().config_files();
    absl::StatusOr<std::string> id = options_.submit_plan(request);
    if (id.ok()) recorded->set_plan_id(*id);
    if (!id.ok()) recorded->set_error(id.status().ToString());
  }
  LOG(INFO) << "schedule " << updated.name() << " fired: "
            << (recorded->error().empty()
                    ? absl::StrCat("submitted ", recorded->sweep_id(), recorded->plan_id())
                    : absl::StrCat("submission failed: ", recorded->error()))
            << (skipped > 0 ? absl::StrCat(" (", skipped, " missed windows folded in)") : "");
  if (absl::Status stored = store_->Put(updated); !stored.ok()) {
    LOG(WARNING) << "schedule " << updated.name()
                 << ": cannot store the firing's result: " << stored;
  }
  entry.schedule = std::move(updated);
}

}  // namespace jepalab::scheduler
