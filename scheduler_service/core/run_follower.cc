#include "scheduler_service/core/run_follower.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "scheduler_service/core/experiment_state.h"

namespace jepalab::scheduler {

RunFollowers::RunFollowers(absl::Mutex* mu, const common::Clock* clock,
                           ExperimentRegistry* registry, RunEvents* events,
                           CollapseStopper* collapse, const RunFollowerOptions& options)
    : mu_(mu),
      clock_(clock),
      registry_(registry),
      events_(events),
      collapse_(collapse),
      options_(options) {}

RunFollowers::~RunFollowers() { Join(); }

void RunFollowers::StartHangMonitor() {
  if (options_.hang_timeout <= absl::ZeroDuration()) return;
  hang_monitor_ = std::thread(&RunFollowers::HangMonitorLoop, this);
}

void RunFollowers::StartLocked(const std::string& run_id, std::shared_ptr<TrainerClient> trainer) {
  if (stopping_ || watchers_.count(run_id) > 0) return;
  auto watcher = std::make_shared<Watcher>(clock_->Now());
  // The thread needs mu_ before touching watchers_, so it sees the entry complete.
  watcher->thread =
      std::thread(&RunFollowers::FollowRun, this, run_id, std::move(trainer), watcher.get());
  ExperimentRegistry::Entry* entry = nullptr;
  const RunRecord* run = registry_->FindRun(run_id, &entry);
  if (run != nullptr && collapse_ != nullptr && entry->experiment.stop_on_collapse().enabled()) {
    watcher->collapse_thread =
        std::thread(&CollapseStopper::Follow, collapse_, run_id,
                    entry->experiment.stop_on_collapse(), &watcher->collapse_cancel);
  }
  watchers_[run_id] = std::move(watcher);
}

void RunFollowers::RetireLocked(const std::string& run_id) {
  auto it = watchers_.find(run_id);
  if (it == watchers_.end()) return;
  it->second->cancel.Cancel();
  it->second->collapse_cancel.Cancel();
  finished_.push_back(std::move(it->second));
  watchers_.erase(it);
}

void RunFollowers::JoinFinished() {
  std::vector<std::shared_ptr<Watcher>> done;
  {
    absl::MutexLock lock(mu_);
    done.swap(finished_);
  }
  for (auto& watcher : done) {
    watcher->thread.join();
    // FollowRun cancelled it on its way out.
    if (watcher->collapse_thread.joinable()) watcher->collapse_thread.join();
  }
}

void RunFollowers::StopLocked() {
  stopping_ = true;
  for (auto& [run_id, watcher] : watchers_) stopped_.push_back(watcher);
  watchers_.clear();
  for (auto& watcher : finished_) stopped_.push_back(watcher);
  finished_.clear();
}

void RunFollowers::CancelAll() {
  std::vector<std::shared_ptr<Watcher>> stopped;
  {
    absl::MutexLock lock(mu_);
    stopped = stopped_;
  }
  // Only our watches end: the runs go on on their trainers (re-attached on restart).
  for (auto& watcher : stopped) {
    watcher->cancel.Cancel();
    watcher->collapse_cancel.Cancel();
  }
}

void RunFollowers::Join() {
  if (hang_monitor_.joinable()) hang_monitor_.join();
  std::vector<std::shared_ptr<Watcher>> stopped;
  {
    absl::MutexLock lock(mu_);
    stopped.swap(stopped_);
  }
  for (auto& watcher : stopped) {
    if (watcher->thread.joinable()) watcher->thread.join();
    if (watcher->collapse_thread.joinable()) watcher->collapse_thread.join();
  }
}

void RunFollowers::FollowRun(const std::string& run_id, std::shared_ptr<TrainerClient> trainer,
                             Watcher* watcher) {
  // A watcher follows one attempt: it stops once the run ended or was queued for a retry.
  int32_t attempt = 0;
  {
    absl::MutexLock lock(mu_);
    ExperimentRegistry::Entry* entry = nullptr;
    if (const RunRecord* run = registry_->FindRun(run_id, &entry)) attempt = run->attempts();
  }
  auto still_ours = [&] {
    absl::MutexLock lock(mu_);
    ExperimentRegistry::Entry* entry = nullptr;
    const RunRecord* run = registry_->FindRun(run_id, &entry);
    return run != nullptr && !common::IsTerminal(run->state()) && run->attempts() == attempt &&
           run->trainer() == trainer->address();
  };
  auto hung = [&] {
    absl::MutexLock lock(mu_);
    return watcher->hung;
  };
  absl::Time unreachable_since = absl::InfiniteFuture();
  bool warned = false;
  while (!watcher->cancel.cancelled()) {
    absl::Status watched = trainer->WatchRun(
        run_id,
        [&](const TrainerClient::RunEvent& event) {
          absl::MutexLock lock(mu_);
          events_->ApplyEventLocked(run_id, attempt, event, &watcher->progress);
        },
        &watcher->cancel);
    if (hung()) {
      // Stop what is left of it (a worker that ignores the cancel is killed after its grace).
      absl::Status cancelled = trainer->CancelRun(run_id);
      events_->RetryRun(
          run_id, attempt,
          absl::StrCat("no progress for ", absl::FormatDuration(options_.hang_timeout), " on ",
                       trainer->address(),
                       " (cancel there: ", cancelled.ok() ? "sent" : cancelled.ToString(), ")"));
      break;
    }
    if (watcher->cancel.cancelled() || !still_ours()) break;
    // The stream broke or closed early: ask the trainer directly.
    absl::StatusOr<TrainerClient::Run> run = trainer->GetRun(run_id);
    if (run.ok()) {
      events_->ApplyRun(run_id, attempt, *run);
      if (!still_ours()) break;
      unreachable_since = absl::InfiniteFuture();
      warned = false;
    } else if (absl::IsNotFound(run.status())) {
      events_->RetryRun(run_id, attempt,
                        absl::StrCat("trainer ", trainer->address(), " no longer knows the run (",
                                     run.status().message(), ")"));
      break;
    } else {
      const absl::Time now = clock_->Now();
      if (unreachable_since == absl::InfiniteFuture()) unreachable_since = now;
      if (now - unreachable_since >= options_.trainer_lost_timeout) {
        events_->RetryRun(run_id, attempt,
                          absl::StrCat("trainer ", trainer->address(), " unreachable for ",
                                       absl::FormatDuration(options_.trainer_lost_timeout), " (",
                                       run.status().message(), ")"));
        break;
      }
      if (!warned) {
        LOG(WARNING) << "lost track of run " << run_id << " on " << trainer->address()
                     << " (watch: " << watched << "; get: " << run.status() << "); polling every "
                     << options_.poll_interval;
        warned = true;
      }
    }
    absl::MutexLock lock(mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    clock_->AwaitWithTimeout(mu_, absl::Condition(&stop), options_.poll_interval);
  }
  absl::MutexLock lock(mu_);
  // Under mu_, so the collapse follower's wait (a condition on mu_) sees it at once.
  watcher->collapse_cancel.Cancel();
  auto it = watchers_.find(run_id);
  if (it != watchers_.end() && it->second.get() == watcher) {
    finished_.push_back(std::move(it->second));  // the dispatcher joins it
    watchers_.erase(it);
  }
}

void RunFollowers::HangMonitorLoop() {
  const absl::Duration interval =
      std::min(absl::Seconds(1), std::max(absl::Milliseconds(10), options_.hang_timeout / 4));
  absl::MutexLock lock(mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (!clock_->AwaitWithTimeout(mu_, absl::Condition(&stop), interval)) {
    const absl::Time now = clock_->Now();
    for (auto& [run_id, watcher] : watchers_) {
      if (watcher->hung || !watcher->progress.StalledFor(options_.hang_timeout, now)) continue;
      LOG(WARNING) << "run " << run_id << ": no progress for "
                   << absl::FormatDuration(now - watcher->progress.last_progress())
                   << "; retrying it";
      watcher->hung = true;
      watcher->cancel.Cancel();  // ends the watch; FollowRun cancels and retries the run
    }
  }
}

}  // namespace jepalab::scheduler
