// The service's training speed beside the in-process trainer's, at equal settings (issue 12 item
// 5): the same config and thread count trained by RunTraining in this process (what
// train_mini_bench measures) and as a run of a real trainer_server (worker process, metrics
// streamed to a real metrics_server), alternately, `--repeats` times each. Prints the training
// loop's samples/s of every repeat (the run's own figure: its final message), the medians and the
// service's share, and each side's wall time per run.
//   bazel run -c opt //bench:service_speed -- [--config=configs/training/X.yaml] [--threads=2]
//     [--repeats=3] [--set=key=value,...]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/testing/service_process.h"
#include "config/trainer_config.h"
#include "proto/common_states.h"
#include "proto/trainer.grpc.pb.h"
#include "tests/service_stack.h"
#include "trainer_service/core/trainer.h"

ABSL_FLAG(std::string, config, "configs/training/jepa_pretrain_a6000_mini.yaml",
          "Run config (runfiles-relative).");
ABSL_FLAG(int, threads, 2, "training.num_threads of both sides.");
ABSL_FLAG(int, repeats, 3, "Runs per side, alternating.");
ABSL_FLAG(std::vector<std::string>, set, {}, "More key=value overrides of both sides.");

namespace jepalab::bench {
namespace {

namespace trainer_rpc = ::jepalab::trainer::v1;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceStack;
using ::jepalab::testing::ServiceStackOptions;

struct Measured {
  double loop_samples_per_second = 0;
  double wall_seconds = 0;
};

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

absl::StatusOr<Measured> InProcess(const config::v1::TrainerConfig& config) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<trainer::RunOutcome> outcome =
      trainer::RunTraining(config, {"in_process"}, nullptr, nullptr, nullptr);
  if (!outcome.ok()) return outcome.status();
  const auto& t = outcome->timings;
  return Measured{t.train > 0 ? static_cast<double>(t.train_samples) / t.train : 0,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

// The training loop's samples/s as the run reported it in its final message (trainer.cc).
absl::StatusOr<double> LoopSamplesPerSecond(const std::string& message) {
  static const std::regex kLoop("training loop ([0-9.]+) samples/s");
  std::smatch match;
  if (!std::regex_search(message, match, kLoop)) {
    return absl::InternalError(absl::StrCat("no training loop figure in \"", message, "\""));
  }
  return std::stod(match[1].str());
}

absl::StatusOr<Measured> InService(trainer_rpc::TrainerService::Stub& stub,
                                   const config::v1::TrainerConfig& config, int index) {
  trainer_rpc::StartRunRequest start;
  start.set_run_id(absl::StrCat("service_speed-", index));
  *start.mutable_config() = config;
  {
    grpc::ClientContext context;
    trainer_rpc::StartRunResponse response;
    grpc::Status status = stub.StartRun(&context, start, &response);
    if (!status.ok())
      return absl::InternalError(absl::StrCat("StartRun: ", status.error_message()));
  }
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    grpc::ClientContext context;
    trainer_rpc::GetRunRequest get;
    get.set_run_id(start.run_id());
    trainer_rpc::GetRunResponse got;
    grpc::Status status = stub.GetRun(&context, get, &got);
    if (!status.ok()) return absl::InternalError(absl::StrCat("GetRun: ", status.error_message()));
    const trainer_rpc::Run& run = got.run();
    if (!common::IsTerminal(run.state())) continue;
    if (run.state() != common::v1::RUN_STATE_SUCCEEDED) {
      return absl::InternalError(absl::StrCat(start.run_id(), " ended ", run.message()));
    }
    absl::StatusOr<double> loop = LoopSamplesPerSecond(run.message());
    if (!loop.ok()) return loop.status();
    return Measured{*loop,
                    static_cast<double>(run.finished_unix_ms() - run.created_unix_ms()) / 1000.0};
  }
}

absl::Status Run() {
  std::vector<std::string> overrides = {
      absl::StrCat("training.num_threads=", absl::GetFlag(FLAGS_threads))};
  for (const std::string& o : absl::GetFlag(FLAGS_set)) overrides.push_back(o);
  absl::StatusOr<config::v1::TrainerConfig> config =
      config::LoadTrainerConfigFile(RunfilePath(absl::GetFlag(FLAGS_config)), overrides);
  if (!config.ok()) return config.status();

  ServiceStackOptions options;
  options.trainer_flags = {"--max_concurrent_runs=1"};
  absl::StatusOr<std::unique_ptr<ServiceStack>> stack = ServiceStack::Start(options);
  if (!stack.ok()) return stack.status();
  const std::string& root = (*stack)->root();
  auto stub = trainer_rpc::TrainerService::NewStub(
      grpc::CreateChannel((*stack)->trainer().address(), grpc::InsecureChannelCredentials()));

  std::printf("config %s, %d threads, %s, data and logs in %s\n",
              absl::GetFlag(FLAGS_config).c_str(), absl::GetFlag(FLAGS_threads),
              absl::StrJoin(overrides, " ").c_str(), root.c_str());
  std::printf("%-8s %-10s %16s %10s\n", "repeat", "side", "loop samples/s", "wall s");
  std::vector<double> bench_loop, service_loop, bench_wall, service_wall;
  for (int r = 0; r < absl::GetFlag(FLAGS_repeats); ++r) {
    absl::StatusOr<Measured> in_process = InProcess(*config);
    if (!in_process.ok()) return in_process.status();
    std::printf("%-8d %-10s %16.1f %10.1f\n", r + 1, "in-process",
                in_process->loop_samples_per_second, in_process->wall_seconds);
    absl::StatusOr<Measured> service = InService(*stub, *config, r);
    if (!service.ok()) return service.status();
    std::printf("%-8d %-10s %16.1f %10.1f\n", r + 1, "service", service->loop_samples_per_second,
                service->wall_seconds);
    bench_loop.push_back(in_process->loop_samples_per_second);
    service_loop.push_back(service->loop_samples_per_second);
    bench_wall.push_back(in_process->wall_seconds);
    service_wall.push_back(service->wall_seconds);
  }
  const double bench_median = Median(bench_loop), service_median = Median(service_loop);
  std::printf("median training loop: in-process %.1f samples/s, service %.1f samples/s: %.0f %%\n",
              bench_median, service_median,
              bench_median > 0 ? 100.0 * service_median / bench_median : 0.0);
  std::printf("median wall per run: in-process %.1f s, service %.1f s (StartRun to end)\n",
              Median(bench_wall), Median(service_wall));
  return absl::OkStatus();
}

}  // namespace
}  // namespace jepalab::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  jepalab::common::InitLogging(argv[0]);
  absl::Status status = jepalab::bench::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "service_speed: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
