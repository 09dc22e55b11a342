// trainer_worker: runs one training run in its own process, so that a crash (abort, SIGSEGV,
// OOM kill) costs that run only. Protocol with the parent (trainer_server's RunManager):
//   --run_spec=<file>: a binary StartRunRequest; --metrics_address: metrics_service or empty;
//   --resume: continue from the latest checkpoint in --checkpoint_dir if there is one;
//   --attempt: which start of the run this is (debug.fault_on_attempt).
//   stdout: length-delimited RunEvent protos (RUNNING with "device: <d>", progress, metrics,
//   then exactly one terminal state); stderr: the log. Exit 0 after the terminal event.
//   SIGTERM: cooperative cancel -> CANCELLED.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/grpc_channel.h"
#include "common/logging.h"
#include "config/trainer_config.h"
#include "proto/trainer.pb.h"
#include "trainer_service/core/trainer.h"
#include "trainer_service/core/worker_events.h"
#include "trainer_service/server/grpc_metrics_sink.h"

ABSL_FLAG(std::string, run_spec, "", "path of a binary jepalab.trainer.v1.StartRunRequest");
ABSL_FLAG(std::string, metrics_address, "", "metrics_service host:port; empty: report to none");
ABSL_FLAG(std::string, metrics_tls_ca_file, "",
          "PEM CA of metrics_service's TLS certificate; empty: plaintext");
ABSL_FLAG(std::string, metrics_auth_token_file, "",
          "file holding the bearer token sent to metrics_service; empty: none");
ABSL_FLAG(std::string, config_yaml, "",
          "for local runs and benchmarks instead of --run_spec: a TrainerConfig YAML file");
ABSL_FLAG(std::string, run_id, "local", "run id with --config_yaml");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "where the run's checkpoints go (the run manager passes <run_dir>/checkpoints); empty: "
          "training.checkpoint_dir, or none");
ABSL_FLAG(bool, resume, false,
          "continue from the latest checkpoint in --checkpoint_dir when there is one (a retry)");
ABSL_FLAG(int32_t, attempt, 1, "which start of the run this is, 1 for the first");
ABSL_FLAG(int32_t, default_threads, 0,
          "intra-op threads when the config's training.num_threads is 0; 0: every core");

namespace jepalab::trainer {

using ::jepalab::config::LoadTrainerConfigFile;
using ::jepalab::config::ResolvedConfigYaml;
namespace {

using common::v1::RunState;
using v1::StartRunRequest;

// Sends each point both to the parent (event pipe) and to metrics_service.
class WorkerSink : public MetricsSink {
 public:
  WorkerSink(EventWriter* events, GrpcMetricsSink* remote) : events_(events), remote_(remote) {}
  void Report(int64_t step, int32_t epoch, const MetricValues& values) override {
    events_->Metrics(step, epoch, values)
        .IgnoreError();  // a gone parent is noticed via SIGTERM/EOF
    if (remote_ != nullptr) remote_->Report(step, epoch, values);
  }
  void Flush() override {
    if (remote_ != nullptr) remote_->Flush();
  }

 private:
  EventWriter* events_;
  GrpcMetricsSink* remote_;
};

class WorkerListener : public ProgressListener {
 public:
  WorkerListener(EventWriter* events, GrpcMetricsSink* remote) : events_(events), remote_(remote) {}
  void OnStart(const std::string& device, const RunProgress& progress) override {
    events_->State(RunState::RUN_STATE_RUNNING, absl::StrCat(kDeviceMessagePrefix, device))
        .IgnoreError();
    events_->Progress(progress).IgnoreError();
    if (remote_ != nullptr) remote_->UpdateRunState(RunState::RUN_STATE_RUNNING, "");
  }
  void OnProgress(const RunProgress& progress) override {
    events_->Progress(progress).IgnoreError();
  }

 private:
  EventWriter* events_;
  GrpcMetricsSink* remote_;
};

// Set by the SIGTERM/SIGINT handler; the only global, because a signal handler needs one.
std::atomic<bool> g_cancel{false};

// Sets g_cancel once the worker's parent process is gone (the worker has been re-parented).
void WatchParent(pid_t parent) {
  std::thread([parent] {
    while (getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    LOG(WARNING) << "the trainer server (pid " << parent << ") is gone; cancelling the run";
    g_cancel.store(true);
  }).detach();
}

int WorkerMain() {
  // Events go to a private copy of stdout; fd 1 then points at the log, so that stray prints
  // from libraries can never corrupt the event stream.
  const int event_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  signal(SIGPIPE, SIG_IGN);
  // If the server dies, take the run down with it (cooperatively). Not PR_SET_PDEATHSIG: that
  // fires when the server *thread* that spawned the worker exits, and gRPC's thread pool ends
  // idle threads, which cancelled healthy runs whenever two ran at once.
  WatchParent(getppid());

  StartRunRequest spec;
  if (!absl::GetFlag(FLAGS_config_yaml).empty()) {
    auto config = LoadTrainerConfigFile(absl::GetFlag(FLAGS_config_yaml));
    if (!config.ok()) {
      LOG(ERROR) << config.status();
      return 2;
    }
    spec.set_run_id(absl::GetFlag(FLAGS_run_id));
    *spec.mutable_config() = *std::move(config);
  } else {
    const absl::StatusOr<std::string> bytes = common::ReadFile(absl::GetFlag(FLAGS_run_spec));
    if (!bytes.ok() || !spec.ParseFromString(*bytes)) {
      EventWriter events(event_fd, "");
      const std::string message =
          absl::StrCat("cannot read --run_spec=", absl::GetFlag(FLAGS_run_spec));
      LOG(ERROR) << message;
      events.State(RunState::RUN_STATE_FAILED, message).IgnoreError();
      return 0;
    }
  }
  const std::string& run_id = spec.run_id();
  EventWriter events(event_fd, run_id);
  if (spec.config().debug().fault() != "none") {
    rlimit no_core{0, 0};  // planned crashes leave no core files behind
    setrlimit(RLIMIT_CORE, &no_core);
  }

  std::unique_ptr<GrpcMetricsSink> remote;
  if (!absl::GetFlag(FLAGS_metrics_address).empty()) {
    GrpcMetricsSinkOptions options;
    options.address = absl::GetFlag(FLAGS_metrics_address);
    absl::StatusOr<common::ClientSecurity> security = common::LoadClientSecurity(
        {absl::GetFlag(FLAGS_metrics_tls_ca_file), absl::GetFlag(FLAGS_metrics_auth_token_file)});
    if (!security.ok()) {
      const std::string message = absl::StrCat("metrics_", security.status().message());
      LOG(ERROR) << message;
      events.State(RunState::RUN_STATE_FAILED, message).IgnoreError();
      return 0;
    }
    options.security = *std::move(security);
    auto& run = options.run;
    run.set_run_id(run_id);
    run.set_experiment(spec.experiment());
    run.set_config_yaml(ResolvedConfigYaml(spec.config()));
    // Checked (or computed) by the trainer when it accepted the run; not derived again here.
    run.set_config_hash(spec.config_hash());
    *run.mutable_labels() = spec.labels();
    run.set_state(RunState::RUN_STATE_QUEUED);
    remote = std::make_unique<GrpcMetricsSink>(options);
  }

  // A handler rather than sigwait: libraries start threads before main(), so SIGTERM cannot
  // be blocked in every thread. Storing to a lock-free atomic is async-signal-safe.
  static_assert(std::atomic<bool>::is_always_lock_free);
  g_cancel.store(false);
  struct sigaction action {};
  action.sa_handler = [](int) { g_cancel.store(true); };
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  LOG(INFO) << run_id << ": worker pid " << getpid() << " starting";
  WorkerSink sink(&events, remote.get());
  WorkerListener listener(&events, remote.get());
  RunContext context{run_id};
  context.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  context.resume_latest = absl::GetFlag(FLAGS_resume);
  context.attempt = absl::GetFlag(FLAGS_attempt);
  context.default_threads = absl::GetFlag(FLAGS_default_threads);
  absl::StatusOr<RunOutcome> outcome =
      RunTraining(spec.config(), context, &sink, &listener, &g_cancel);
  RunState state = RunState::RUN_STATE_FAILED;
  std::string message;
  if (outcome.ok()) {
    state = outcome->state;
    message = outcome->message;
  } else {
    message = outcome.status().ToString();
  }
  if (g_cancel.load()) LOG(INFO) << run_id << ": cancel signal received";
  LOG(INFO) << run_id << ": " << common::v1::RunState_Name(state) << ": " << message;
  if (remote != nullptr) {
    // Points first, then the final state, before the parent hears of the end.
    remote->UpdateRunState(state, message);
    remote->Close(absl::Seconds(5));
  }
  events.State(state, message).IgnoreError();
  close(event_fd);
  return 0;
}

}  // namespace
}  // namespace jepalab::trainer

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  jepalab::common::InitLogging(argv[0]);
  return jepalab::trainer::WorkerMain();
}
