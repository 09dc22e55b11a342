#include "trainer_service/core/run_manager.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "config/trainer_config.h"
#include "proto/common_states.h"
#include "trainer_service/core/worker_events.h"
#include "trainer_service/core/worker_launcher.h"

extern char** environ;

namespace jepalab::trainer {

using ::jepalab::config::ConfigHash;
using ::jepalab::config::ValidateTrainerConfig;

using common::v1::RunState;

namespace {

constexpr size_t kMaxQueuedEventsPerSubscriber = 10000;

using ::jepalab::common::IsTerminal;

absl::Status MakeDirs(const std::string& path) {
  std::string partial;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    partial += std::string(part) + "/";
    if (part.empty()) continue;
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::UnavailableError(
          absl::StrCat("cannot create ", partial, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// The last `lines` non-empty lines of a file, joined with " | ".
std::string TailOfFile(const std::string& path, size_t lines) {
  const std::string text = common::ReadFile(path).value_or("");
  std::vector<std::string> all = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  if (all.size() > lines) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(lines));
  return absl::StrJoin(all, " | ");
}

// The server's environment plus, unless it sets OMP_WAIT_POLICY or GOMP_SPINCOUNT, how OpenMP
// threads wait between LibTorch's small parallel regions (docs/performance.md, "OpenMP waits"):
// - OMP_WAIT_POLICY=PASSIVE when this trainer's own runs want more threads than there are cores:
//   spinning threads then stall for whole time slices (the _mini plan ran 20x slower);
// - else a short spin, GOMP_SPINCOUNT=1000: alone about 90 % of the default spin's speed (PASSIVE
//   gives 64 %), and 2x the default spin's when another process takes a core.
std::vector<std::string> WorkerEnvironment(bool runs_share_cores) {
  std::vector<std::string> env;
  bool wait_set = false;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
    wait_set = wait_set || absl::StartsWith(env.back(), "OMP_WAIT_POLICY=") ||
               absl::StartsWith(env.back(), "GOMP_SPINCOUNT=");
  }
  if (!wait_set) {
    env.emplace_back(runs_share_cores ? "OMP_WAIT_POLICY=PASSIVE" : "GOMP_SPINCOUNT=1000");
  }
  return env;
}

RunEvent StateEvent(RunState state, const std::string& message) {
  RunEvent event;
  event.mutable_state_change()->set_state(state);
  event.mutable_state_change()->set_message(message);
  return event;
}

}  // namespace

struct RunSubscription::Queue {
  explicit Queue(bool metrics) : include_metrics(metrics) {}
  const bool include_metrics;
  absl::Mutex mu;
  std::deque<RunEvent> events ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;  // no event will follow the queued ones

  void Push(const RunEvent& event, bool close) {
    absl::MutexLock lock(&mu);
    if (closed) return;
    // A slow reader loses progress/metrics events beyond the cap, never state changes.
    if (event.has_state_change() || events.size() < kMaxQueuedEventsPerSubscriber)
      events.push_back(event);
    if (close) closed = true;
  }
};

RunSubscription::~RunSubscription() = default;

RunSubscription::Result RunSubscription::Next(RunEvent* event, absl::Duration timeout) {
  absl::MutexLock lock(&queue_->mu);
  queue_->mu.AwaitWithTimeout(absl::Condition(
                                  +[](Queue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu) {
                                    return !q->events.empty() || q->closed;
                                  },
                                  queue_.get()),
                              timeout);
  if (!queue_->events.empty()) {
    *event = std::move(queue_->events.front());
    queue_->events.pop_front();
    return Result::kEvent;
  }
  return queue_->closed ? Result::kEnd : Result::kTimeout;
}

struct RunManager::RunRecord {
  Run run;
  std::string dir;
  std::string log_path;
  StartRunRequest request;         // as started (the spec a restart re-spawns)
  std::unique_ptr<Worker> worker;  // the current attempt's
  bool resuming = false;           // a restart whose first progress event says where it continued
  bool interrupted = false;        // cancelled by Shutdown(): the run is retryable
  int64_t sequence = 0;
  absl::Time kill_deadline = absl::InfiniteFuture();
  bool killed = false;     // SIGKILL sent
  bool reaped = false;     // the worker exited and was waited for
  std::thread supervisor;  // reads the worker's events, then reaps it
  std::thread watchdog;    // sends SIGKILL when a cancel's grace is over
  std::vector<std::weak_ptr<RunSubscription::Queue>> subscribers;
};

absl::StatusOr<std::unique_ptr<RunManager>> RunManager::Create(const RunManagerOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  if (access(options.worker_binary.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker_binary: not an executable file: \"", options.worker_binary, "\""));
  }
  if (options.threads_per_run < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads_per_run: must be >= 0, got ", options.threads_per_run));
  }
  if (options.max_concurrent_runs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_concurrent_runs: must be >= 1, got ", options.max_concurrent_runs));
  }
  JEPALAB_RETURN_IF_ERROR(MakeDirs(options.data_dir + "/runs"));
  std::unique_ptr<RunManager> manager(new RunManager(options));
  manager->ReloadRuns();
  return manager;
}

RunManager::RunManager(const RunManagerOptions& options) : options_(options) {
  if (options.clock == nullptr) own_clock_ = std::make_unique<common::SystemClock>();
  clock_ = options.clock != nullptr ? options.clock : own_clock_.get();
  if (options.launcher == nullptr) own_launcher_ = std::make_unique<ProcessWorkerLauncher>();
  launcher_ = options.launcher != nullptr ? options.launcher : own_launcher_.get();
}

RunManager::~RunManager() { Shutdown(); }

absl::StatusOr<Run> RunManager::StartRun(const StartRunRequest& request) {
  // Validate fully before touching any state (STYLE.md §3).
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("run_id", request.run_id()));
  JEPALAB_RETURN_IF_ERROR(ValidateTrainerConfig(request.config()));
  // The config was resolved once, at submission; a sender that says which hash it resolved is
  // held to it, so a config altered on the way never runs under that run's name.
  const std::string config_hash = ConfigHash(request.config());
  if (!request.config_hash().empty() && request.config_hash() != config_hash) {
    return absl::InvalidArgumentError(absl::StrCat("config_hash: the request says ",
                                                   request.config_hash(),
                                                   " but its config hashes to ", config_hash));
  }

  absl::MutexLock lock(&mu_);
  if (shutting_down_) return absl::UnavailableError("trainer is shutting down");
  RunRecord* restart = nullptr;
  if (auto it = runs_.find(request.run_id()); it != runs_.end()) {
    RunRecord* existing = it->second.get();
    const RunState state = existing->run.state();
    // Only a run that ended without a result may start again, and only once its worker is gone.
    const bool restartable =
        request.resume() && existing->reaped &&
        (state == RunState::RUN_STATE_FAILED || state == RunState::RUN_STATE_CANCELLED);
    if (!restartable) {
      return absl::AlreadyExistsError(absl::StrCat("run_id: run \"", request.run_id(),
                                                   "\" already exists (",
                                                   common::v1::RunState_Name(state), ")"));
    }
    restart = existing;
  }
  int active = 0;
  for (const auto& [id, record] : runs_) active += IsTerminal(record->run.state()) ? 0 : 1;
  if (active >= options_.max_concurrent_runs) {
    return absl::ResourceExhaustedError(
        absl::StrCat("trainer is busy: ", active,
                     " of max_concurrent_runs=", options_.max_concurrent_runs, " running"));
  }

  if (restart != nullptr) {
    // Reaped: both threads of the last attempt are returning.
    if (restart->supervisor.joinable()) restart->supervisor.join();
    if (restart->watchdog.joinable()) restart->watchdog.join();
    restart->request = request;
    restart->request.set_config_hash(config_hash);
    JEPALAB_RETURN_IF_ERROR(SpawnWorkerLocked(restart));
    return restart->run;
  }
  auto record = std::make_unique<RunRecord>();
  record->dir = absl::StrCat(options_.data_dir, "/runs/", request.run_id());
  record->log_path = record->dir + "/worker.log";
  record->request = request;
  record->request.set_config_hash(config_hash);  // the worker reports it as is
  Run& run = record->run;
  run.set_run_id(request.run_id());
  run.set_experiment(request.experiment());
  run.set_config_hash(config_hash);
  run.set_created_unix_ms(NowMs());
  *run.mutable_labels() = request.labels();
  JEPALAB_RETURN_IF_ERROR(MakeDirs(record->dir));
  JEPALAB_RETURN_IF_ERROR(SpawnWorkerLocked(record.get()));
  RunRecord* raw = record.get();
  runs_[request.run_id()] = std::move(record);
  order_.push_back(request.run_id());
  return raw->run;
}

absl::Status RunManager::SpawnWorkerLocked(RunRecord* record) {
  const StartRunRequest& request = record->request;
  const std::string spec_path = record->dir + "/spec.pb";
  {
    std::ofstream spec(spec_path, std::ios::binary | std::ios::trunc);
    if (!request.SerializeToOstream(&spec) || !spec.good()) {
      return absl::UnavailableError(absl::StrCat("cannot write ", spec_path));
    }
  }
  const int attempt = record->run.attempt() + 1;

  WorkerSpec spec;
  spec.binary = options_.worker_binary;
  spec.args = {"--run_spec=" + spec_path, "--metrics_address=" + options_.metrics_address,
               "--checkpoint_dir=" + record->dir + "/checkpoints",
               absl::StrCat("--attempt=", attempt)};
  if (request.resume()) spec.args.push_back("--resume");
  if (options_.threads_per_run > 0) {
    spec.args.push_back(absl::StrCat("--default_threads=", options_.threads_per_run));
  }
  if (!options_.metrics_tls_ca_file.empty()) {
    spec.args.push_back("--metrics_tls_ca_file=" + options_.metrics_tls_ca_file);
  }
  if (!options_.metrics_auth_token_file.empty()) {
    spec.args.push_back("--metrics_auth_token_file=" + options_.metrics_auth_token_file);
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = options_.threads_per_run > 0 ? options_.threads_per_run : cores;
  spec.env = WorkerEnvironment(threads * options_.max_concurrent_runs > cores);
  spec.log_path = record->log_path;
  spec.append_log = attempt > 1;  // a restart appends, so the log keeps the earlier attempts
  JEPALAB_ASSIGN_OR_RETURN(std::unique_ptr<Worker> worker, launcher_->Launch(spec));
  const int pid = worker->pid();
  std::ofstream(record->dir + "/worker.pid", std::ios::trunc) << pid << "\n";

  // A fresh attempt: the run's identity, labels and last progress stay.
  Run& run = record->run;
  run.set_state(RunState::RUN_STATE_QUEUED);
  run.set_message("");
  run.set_attempt(attempt);
  run.set_resumed_from_step(0);
  run.set_retryable(false);
  run.set_cancel_requested(false);
  run.set_started_unix_ms(0);
  run.set_finished_unix_ms(0);
  record->worker = std::move(worker);
  record->resuming = request.resume() && attempt > 1;
  record->interrupted = false;
  record->kill_deadline = absl::InfiniteFuture();
  record->killed = false;
  record->reaped = false;
  LOG(INFO) << "run " << request.run_id() << ": started worker pid " << pid << " (attempt "
            << attempt << (request.resume() ? ", resuming" : "") << "; log " << record->log_path
            << ")";
  Publish(record, StateEvent(RunState::RUN_STATE_QUEUED, ""));
  record->supervisor = std::thread([this, record] { Supervise(record); });
  record->watchdog = std::thread([this, record] { Watchdog(record); });
  return absl::OkStatus();
}

void RunManager::Supervise(RunRecord* record) {
  // Reads events until the channel ends (the worker exited or closed it), then reaps the
  // worker. record->worker is replaced only after this thread was joined.
  Worker* worker = record->worker.get();
  EventDecoder decoder;
  bool corrupt = false;
  std::string bytes;
  while (worker->ReadEvents(&bytes)) {
    if (corrupt) {  // drained, so the worker never blocks on a full channel
      bytes.clear();
      continue;
    }
    decoder.Append(bytes.data(), bytes.size());
    bytes.clear();
    RunEvent event;
    EventDecoder::Result result;
    absl::MutexLock lock(&mu_);
    while ((result = decoder.Next(&event)) == EventDecoder::Result::kEvent) {
      HandleEvent(record, event);
    }
    if (result == EventDecoder::Result::kCorrupt) {
      LOG(ERROR) << "run " << record->run.run_id()
                 << ": corrupt event stream from worker; ignoring the rest";
      corrupt = true;
    }
  }
  const int status = worker->Wait();
  absl::MutexLock lock(&mu_);
  FinishFromExit(record, status);
}

void RunManager::Watchdog(RunRecord* record) {
  // Escalates a cancel to SIGKILL when the worker is still there after cancel_grace, read on
  // the injected clock so tests decide when the grace is over.
  absl::MutexLock lock(&mu_);
  auto cancelled_or_gone = [record] { return record->reaped || record->run.cancel_requested(); };
  mu_.Await(absl::Condition(&cancelled_or_gone));
  auto gone = [record] { return record->reaped; };
  if (clock_->AwaitWithDeadline(&mu_, absl::Condition(&gone), record->kill_deadline)) return;
  LOG(WARNING) << "run " << record->run.run_id() << ": worker ignored SIGTERM for "
               << absl::FormatDuration(options_.cancel_grace) << "; sending SIGKILL";
  record->worker->Signal(SIGKILL);
  record->killed = true;
}

void RunManager::HandleEvent(RunRecord* record, RunEvent event) {
  Run& run = record->run;
  if (IsTerminal(run.state())) return;  // nothing after the end counts
  switch (event.kind_case()) {
    case RunEvent::kStateChange: {
      const auto& change = event.state_change();
      if (change.state() == RunState::RUN_STATE_RUNNING) {
        run.set_started_unix_ms(NowMs());
        if (absl::StartsWith(change.message(), kDeviceMessagePrefix)) {
          run.set_device(change.message().substr(strlen(kDeviceMessagePrefix)));
        }
      }
      run.set_state(change.state());
      run.set_message(change.message());
      if (IsTerminal(change.state())) {
        run.set_finished_unix_ms(NowMs());
        if (record->interrupted && change.state() == RunState::RUN_STATE_CANCELLED)
          MarkInterrupted(record);
        event.mutable_state_change()->set_message(run.message());
      }
      break;
    }
    case RunEvent::kProgress:
      if (record->resuming) {  // the first progress of a resumed attempt: where it continued
        run.set_resumed_from_step(event.progress().step());
        record->resuming = false;
      }
      *run.mutable_progress() = event.progress();
      break;
    case RunEvent::kMetrics:
      // Only streamed to include_metrics subscribers: Run keeps no metrics (metrics_service
      // owns them).
      break;
    default:
      return;
  }
  Publish(record, std::move(event));
}

void RunManager::Publish(RunRecord* record, RunEvent event) {
  // The manager numbers events itself: synthesized ones (QUEUED, crash) interleave with the
  // worker's.
  event.set_run_id(record->run.run_id());
  event.set_sequence(++record->sequence);
  if (event.has_state_change() && record->run.retryable())
    event.mutable_state_change()->set_retryable(true);
  if (event.unix_ms() == 0) event.set_unix_ms(NowMs());
  const bool terminal = event.has_state_change() && IsTerminal(event.state_change().state());
  auto& subs = record->subscribers;
  for (auto it = subs.begin(); it != subs.end();) {
    std::shared_ptr<RunSubscription::Queue> queue = it->lock();
    if (queue == nullptr) {
      it = subs.erase(it);
      continue;
    }
    if (!event.has_metrics() || queue->include_metrics) queue->Push(event, terminal);
    ++it;
  }
  if (terminal) subs.clear();
  if (event.has_state_change()) PersistLocked(*record);
}

void RunManager::MarkInterrupted(RunRecord* record) {
  Run& run = record->run;
  run.set_retryable(true);
  run.set_message(absl::StrCat("interrupted: trainer_server shut down at step ",
                               run.progress().step(),
                               "; a retry resumes from the latest checkpoint"));
}

void RunManager::PersistLocked(const RunRecord& record) const {
  // Written whole and renamed, so a crash leaves the old or the new record, never half of one.
  std::string bytes;
  if (!record.run.SerializeToString(&bytes)) {
    LOG(ERROR) << "run " << record.run.run_id() << ": cannot serialize the run record";
    return;
  }
  absl::Status written = common::WriteFileAtomically(record.dir + "/run.pb", bytes);
  if (!written.ok()) LOG(ERROR) << "run " << record.run.run_id() << ": " << written.message();
}

void RunManager::ReloadRuns() {
  const std::string root = options_.data_dir + "/runs";
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) return;
  std::vector<std::unique_ptr<RunRecord>> loaded;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    auto record = std::make_unique<RunRecord>();
    record->dir = absl::StrCat(root, "/", name);
    record->log_path = record->dir + "/worker.log";
    const absl::StatusOr<std::string> run_bytes = common::ReadFile(record->dir + "/run.pb");
    const absl::StatusOr<std::string> spec_bytes = common::ReadFile(record->dir + "/spec.pb");
    if (!run_bytes.ok() || !record->run.ParseFromString(*run_bytes) ||
        record->run.run_id() != name || !spec_bytes.ok() ||
        !record->request.ParseFromString(*spec_bytes)) {
      LOG(WARNING) << "ignoring " << record->dir << ": no readable run record";
      continue;
    }
    record->reaped = true;
    loaded.push_back(std::move(record));
  }
  closedir(dir);
  std::sort(loaded.begin(), loaded.end(), [](const auto& a, const auto& b) {
    return a->run.created_unix_ms() < b->run.created_unix_ms();
  });
  absl::MutexLock lock(&mu_);
  for (auto& record : loaded) {
    Run& run = record->run;
    if (!IsTerminal(run.state())) {
      KillStaleWorker(*record);
      const std::string was = common::v1::RunState_Name(run.state());
      run.set_state(RunState::RUN_STATE_FAILED);
      run.set_retryable(true);
      run.set_message(absl::StrCat("interrupted: trainer_server stopped while the run was ", was,
                                   " (step ", run.progress().step(),
                                   "); a retry resumes from the latest checkpoint"));
      run.set_finished_unix_ms(NowMs());
      PersistLocked(*record);
      LOG(WARNING) << "run " << run.run_id() << ": " << run.message();
    }
    order_.push_back(run.run_id());
    runs_[run.run_id()] = std::move(record);
  }
  if (!loaded.empty()) LOG(INFO) << "reloaded " << order_.size() << " runs from " << root;
}

void RunManager::KillStaleWorker(const RunRecord& record) const {
  // A worker of the previous server may still be winding down (it got SIGTERM when its parent
  // died): make sure it cannot write a checkpoint under a resumed attempt.
  std::ifstream pid_file(record.dir + "/worker.pid");
  pid_t pid = 0;
  if (!(pid_file >> pid) || pid <= 0) return;
  const std::string cmdline =
      common::ReadFile(absl::StrCat("/proc/", pid, "/cmdline")).value_or("");
  if (!absl::StrContains(cmdline, "trainer_worker") ||
      !absl::StrContains(cmdline, record.dir + "/spec.pb")) {
    return;  // gone, or the pid now belongs to someone else
  }
  LOG(WARNING) << "run " << record.run.run_id() << ": killing the previous server's worker pid "
               << pid;
  kill(pid, SIGKILL);
}

void RunManager::FinishFromExit(RunRecord* record, int wait_status) {
  record->reaped = true;
  Run& run = record->run;
  const std::string& id = run.run_id();
  if (IsTerminal(run.state())) {
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
      LOG(WARNING) << "run " << id << ": worker exited abnormally (status " << wait_status
                   << ") after reporting " << common::v1::RunState_Name(run.state());
    }
    return;
  }
  RunState state = RunState::RUN_STATE_FAILED;
  std::string message;
  if (record->run.cancel_requested()) {
    state = RunState::RUN_STATE_CANCELLED;
    message = record->killed ? absl::StrCat("cancelled; worker killed after ",
                                            absl::FormatDuration(options_.cancel_grace), " grace")
                             : "cancelled";
  } else if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    message = absl::StrCat("worker killed by signal ", sig, " (", strsignal(sig), ")");
  } else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0) {
    message = absl::StrCat("worker exited with code ", WEXITSTATUS(wait_status), ": ",
                           TailOfFile(record->log_path, 5));
  } else {
    message = absl::StrCat("worker exited without reporting a final state: ",
                           TailOfFile(record->log_path, 5));
  }
  LOG(WARNING) << "run " << id << ": " << common::v1::RunState_Name(state) << ": " << message;
  run.set_state(state);
  run.set_message(message);
  run.set_finished_unix_ms(NowMs());
  if (record->interrupted) MarkInterrupted(record);
  Publish(record, StateEvent(state, run.message()));
}

void RunManager::SignalCancel(RunRecord* record) {
  if (record->run.cancel_requested()) return;
  record->run.set_cancel_requested(true);
  // On the injected clock, so tests decide when the grace is over.
  record->kill_deadline = clock_->Now() + options_.cancel_grace;
  record->worker->Signal(SIGTERM);  // the worker cancels cooperatively and reports CANCELLED
}

absl::StatusOr<Run> RunManager::CancelRun(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return absl::NotFoundError(absl::StrCat("run_id: no run \"", run_id, "\""));
  RunRecord* record = it->second.get();
  if (IsTerminal(record->run.state())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "run \"", run_id, "\" already finished: ", common::v1::RunState_Name(record->run.state())));
  }
  LOG(INFO) << "run " << run_id << ": cancelling";
  SignalCancel(record);
  return record->run;
}

absl::StatusOr<Run> RunManager::GetRun(const std::string& run_id) const {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return absl::NotFoundError(absl::StrCat("run_id: no run \"", run_id, "\""));
  return it->second->run;
}

std::vector<Run> RunManager::ListRuns(const std::string& experiment,
                                      const std::vector<RunState>& states) const {
  absl::MutexLock lock(&mu_);
  std::vector<Run> out;
  for (const std::string& id : order_) {
    const Run& run = runs_.at(id)->run;
    if (!experiment.empty() && run.experiment() != experiment) continue;
    if (!states.empty() && std::find(states.begin(), states.end(), run.state()) == states.end())
      continue;
    out.push_back(run);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RunSubscription>> RunManager::Subscribe(const std::string& run_id,
                                                                       bool include_metrics) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return absl::NotFoundError(absl::StrCat("run_id: no run \"", run_id, "\""));
  RunRecord* record = it->second.get();
  auto queue = std::make_shared<RunSubscription::Queue>(include_metrics);
  const Run& run = record->run;
  RunEvent current = StateEvent(run.state(), run.message());
  current.mutable_state_change()->set_retryable(run.retryable());
  current.set_run_id(run_id);
  current.set_sequence(record->sequence);
  current.set_unix_ms(NowMs());
  const bool terminal = IsTerminal(run.state());
  if (run.has_progress()) {
    queue->Push(current, /*close=*/false);
    RunEvent progress;
    progress.set_run_id(run_id);
    progress.set_sequence(record->sequence);
    progress.set_unix_ms(NowMs());
    *progress.mutable_progress() = run.progress();
    queue->Push(progress, terminal);
  } else {
    queue->Push(current, terminal);
  }
  if (!terminal) record->subscribers.push_back(queue);
  return std::make_unique<RunSubscription>(queue);
}

absl::StatusOr<Run> RunManager::WaitForRun(const std::string& run_id,
                                           absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return absl::NotFoundError(absl::StrCat("run_id: no run \"", run_id, "\""));
  const RunRecord* record = it->second.get();
  auto done = [record]() { return IsTerminal(record->run.state()); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "run \"", run_id, "\" still ", common::v1::RunState_Name(record->run.state())));
  }
  return record->run;
}

void RunManager::Shutdown() {
  std::vector<std::thread*> supervisors;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [id, record] : runs_) {
      // Also workers that reported their end but have not exited yet.
      if (!record->reaped) {
        if (!IsTerminal(record->run.state())) record->interrupted = true;
        SignalCancel(record.get());
      }
    }
    // Supervisors mark every run terminal once its worker exits (at the latest after the
    // SIGKILL that follows cancel_grace).
    auto all_done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const auto& [id, record] : runs_) {
        if (!IsTerminal(record->run.state())) return false;
      }
      return true;
    };
    mu_.Await(absl::Condition(&all_done));
    for (auto& [id, record] : runs_) {
      supervisors.push_back(&record->supervisor);
      supervisors.push_back(&record->watchdog);
    }
  }
  for (std::thread* t : supervisors) {
    if (t->joinable()) t->join();
  }
}

}  // namespace jepalab::trainer
