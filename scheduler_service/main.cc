// scheduler_server: queues experiments and sweeps and dispatches their runs to trainers.
//   scheduler_server --port=50051 --data_dir=./.jepalab/scheduler --trainers=127.0.0.1:50052
//       --metrics_address=127.0.0.1:50053 --config_root=.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/grpc_channel.h"
#include "common/grpc_server.h"
#include "common/logging.h"
#include "common/rpc_auth.h"
#include "scheduler_service/core/plan_runner.h"
#include "scheduler_service/core/schedule_runner.h"
#include "scheduler_service/core/scheduler.h"
#include "scheduler_service/server/grpc_metrics_client.h"
#include "scheduler_service/server/grpc_trainer_client.h"
#include "scheduler_service/server/scheduler_service_impl.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 50051, "Port to listen on; 0 picks a free one.");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written here.");
ABSL_FLAG(std::string, data_dir, "./.jepalab/scheduler",
          "Folder for the experiment database; created if missing.");
ABSL_FLAG(std::string, trainers, "127.0.0.1:50052",
          "Comma-separated trainer_service addresses, tried round-robin: host:port, or "
          "host:port=N to keep at most N runs on that trainer (default: as many as it accepts).");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:50053",
          "metrics_service address (host:port): plan verdicts read run histories from it.");
ABSL_FLAG(std::string, config_root, "",
          "Run config paths in submitted plans (configs/training/x.yaml) are read relative to "
          "this folder; empty: the working directory.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain; with --tls_key_file the server speaks TLS only.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, auth_token_file, "",
          "File holding a bearer token: mutating RPCs without \"authorization: Bearer <token>\" "
          "fail UNAUTHENTICATED (read-only RPCs and health stay open). Also sent to trainers and "
          "metrics_service.");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA that the TLS certificates of trainers and metrics_service must chain to; empty: "
          "plaintext to them.");
ABSL_FLAG(int, schedule_tick_seconds, 5,
          "How often (seconds) cron schedules are checked; a due schedule fires within this.");
ABSL_FLAG(int, max_queued_runs, 10000,
          "Submissions that would leave more runs waiting are refused (RESOURCE_EXHAUSTED).");
ABSL_FLAG(int, max_attempts, 3,
          "Starts of a run in all when its trainer restarts under it, loses it, stays unreachable "
          "or the run hangs; retries resume from the run's checkpoint on the same trainer.");
ABSL_FLAG(absl::Duration, trainer_lost_timeout, absl::Minutes(2),
          "How long a running run's trainer may stay unreachable before the run is retried.");
ABSL_FLAG(absl::Duration, run_hang_timeout, absl::Minutes(15),
          "A run without a new step or state for this long is cancelled and retried; 0: never.");
ABSL_FLAG(absl::Duration, keepalive_time, jepalab::common::KeepaliveOptions().time,
          "Keepalive of this server and of its channels to trainers and metrics_service: ping "
          "after this long without traffic (>= 1s), so that a frozen or lost peer's streams end.");
ABSL_FLAG(absl::Duration, keepalive_timeout, jepalab::common::KeepaliveOptions().timeout,
          "An unanswered keepalive ping drops the connection, and its calls, after this long.");

namespace jepalab::scheduler {
namespace {

struct TrainerSpec {
  std::string address;
  int capacity = 0;  // 0: as many as the trainer accepts
};

absl::StatusOr<std::vector<TrainerSpec>> ParseTrainers(const std::string& text) {
  std::vector<TrainerSpec> trainers;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::string entry(absl::StripAsciiWhitespace(part));
    TrainerSpec spec;
    spec.address = entry;
    if (const size_t equals = entry.find('='); equals != std::string::npos) {
      spec.address = entry.substr(0, equals);
      if (!absl::SimpleAtoi(entry.substr(equals + 1), &spec.capacity) || spec.capacity < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("--trainers: capacity must be a number >= 1, got \"", entry, "\""));
      }
    }
    const size_t colon = spec.address.rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(spec.address.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("--trainers: expected host:port[=capacity], got \"", entry, "\""));
    }
    trainers.push_back(spec);
  }
  if (trainers.empty())
    return absl::InvalidArgumentError("--trainers: at least one address required");
  return trainers;
}

absl::Status Run() {
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("--data_dir: cannot create ", data_dir, ": ", error.message()));
  }
  absl::StatusOr<std::vector<TrainerSpec>> trainers = ParseTrainers(absl::GetFlag(FLAGS_trainers));
  if (!trainers.ok()) return trainers.status();

  // Before any client exists: its channels to trainers and metrics_service use it.
  const common::KeepaliveOptions keepalive{absl::GetFlag(FLAGS_keepalive_time),
                                           absl::GetFlag(FLAGS_keepalive_timeout)};
  if (absl::Status set = common::SetClientKeepalive(keepalive); !set.ok()) return set;
  absl::StatusOr<common::ClientSecurity> security = common::LoadClientSecurity(
      {absl::GetFlag(FLAGS_tls_ca_file), absl::GetFlag(FLAGS_auth_token_file)});
  if (!security.ok()) return security.status();
  absl::StatusOr<common::RpcAuthorizer> authorizer =
      common::RpcAuthorizer::FromTokenFile("auth_token_file", absl::GetFlag(FLAGS_auth_token_file));
  if (!authorizer.ok()) return authorizer.status();

  SchedulerOptions options;
  options.data_dir = data_dir;
  options.max_queued_runs = absl::GetFlag(FLAGS_max_queued_runs);
  options.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  options.trainer_lost_timeout = absl::GetFlag(FLAGS_trainer_lost_timeout);
  options.hang_timeout = absl::GetFlag(FLAGS_run_hang_timeout);
  GrpcTrainerClientOptions trainer_options;
  trainer_options.security = *security;
  std::vector<std::string> addresses;
  for (const TrainerSpec& trainer : *trainers) {
    options.trainers.push_back(GrpcTrainerClient::Create(trainer.address, trainer_options));
    if (trainer.capacity > 0) options.trainer_capacity[trainer.address] = trainer.capacity;
    addresses.push_back(trainer.capacity > 0 ? absl::StrCat(trainer.address, "=", trainer.capacity)
                                             : trainer.address);
  }
  // One client for both: the scheduler follows collapse events (stop_on_collapse), the plan
  // runner reads histories.
  GrpcMetricsClientOptions metrics_options;
  metrics_options.security = *security;
  options.metrics =
      GrpcMetricsClient::Create(absl::GetFlag(FLAGS_metrics_address), metrics_options);
  LOG(INFO) << "scheduler config: data_dir=" << data_dir
            << " trainers=" << absl::StrJoin(addresses, ",")
            << " max_queued_runs=" << options.max_queued_runs;
  absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Create(options);
  if (!scheduler.ok()) return scheduler.status();

  PlanRunnerOptions plan_options;
  plan_options.data_dir = data_dir;
  plan_options.config_root = absl::GetFlag(FLAGS_config_root);
  plan_options.scheduler = scheduler->get();
  plan_options.metrics = options.metrics;
  LOG(INFO) << "plan runner config: metrics_address=" << absl::GetFlag(FLAGS_metrics_address)
            << " config_root="
            << (plan_options.config_root.empty() ? "<working directory>"
                                                 : plan_options.config_root);
  absl::StatusOr<std::unique_ptr<PlanRunner>> plans = PlanRunner::Create(plan_options);
  if (!plans.ok()) return plans.status();

  if (absl::GetFlag(FLAGS_schedule_tick_seconds) < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--schedule_tick_seconds: must be >= 1, got ",
                                                   absl::GetFlag(FLAGS_schedule_tick_seconds)));
  }
  // Cron schedules fire through the same entry points as SubmitSweep and SubmitPlan.
  ScheduleRunnerOptions schedule_options;
  schedule_options.data_dir = data_dir;
  schedule_options.config_root = plan_options.config_root;
  schedule_options.tick_interval = absl::Seconds(absl::GetFlag(FLAGS_schedule_tick_seconds));
  Scheduler* const scheduler_ptr = scheduler->get();
  PlanRunner* const plans_ptr = plans->get();
  schedule_options.submit_sweep =
      [scheduler_ptr](const v1::SubmitSweepRequest& request) -> absl::StatusOr<std::string> {
    absl::StatusOr<SweepResult> sweep = scheduler_ptr->SubmitSweep(request);
    if (!sweep.ok()) return sweep.status();
    return sweep->sweep_id;
  };
  schedule_options.submit_plan =
      [plans_ptr](const v1::SubmitPlanRequest& request) -> absl::StatusOr<std::string> {
    absl::StatusOr<v1::Plan> plan = plans_ptr->SubmitPlan(request);
    if (!plan.ok()) return plan.status();
    return plan->id();
  };
  absl::StatusOr<std::unique_ptr<ScheduleRunner>> schedules =
      ScheduleRunner::Create(schedule_options);
  if (!schedules.ok()) return schedules.status();

  SchedulerServiceImpl service(scheduler->get(), /*clock=*/nullptr,
                               /*watch_poll=*/absl::Milliseconds(250), plans->get(), *authorizer,
                               schedules->get());
  common::GrpcServerOptions server_options;
  server_options.host = absl::GetFlag(FLAGS_host);
  server_options.port = absl::GetFlag(FLAGS_port);
  server_options.port_file = absl::GetFlag(FLAGS_port_file);
  server_options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  server_options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  server_options.keepalive = keepalive;
  absl::StatusOr<std::unique_ptr<common::GrpcServer>> server =
      common::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) return server.status();
  LOG(INFO) << "scheduler_server listening on " << (*server)->address()
            << (server_options.tls_cert_file.empty() ? " (plaintext" : " (TLS")
            << (authorizer->enabled() ? ", token required for mutating RPCs)" : ", no token)");

  const int signal = common::WaitForTerminationSignal();
  LOG(INFO) << "signal " << signal << ": shutting down";
  // Stop taking calls first (open WatchExperiment streams end at the grace deadline), then
  // stop dispatching; runs keep going on their trainers.
  (*server)->Shutdown(/*grace_seconds=*/2.0);
  (*schedules)->Shutdown();
  (*plans)->Shutdown();
  (*scheduler)->Shutdown();
  LOG(INFO) << "scheduler_server stopped";
  return absl::OkStatus();
}

}  // namespace
}  // namespace jepalab::scheduler

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the blocked signals.
  jepalab::common::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  jepalab::common::InitLogging(argv[0]);
  absl::Status status = jepalab::scheduler::Run();
  if (!status.ok()) {
    std::cerr << "scheduler_server: " << status << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
