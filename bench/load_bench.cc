// Load test of the services as a benchmark: 50 concurrent metric streams into the real
// metrics_server for a few minutes while the jepalab CLI, direct gRPC queries and /metrics
// scrapes read; prints per-request-kind latency (p50/p99/max), ingest throughput and the
// read-back check (lost and duplicated points). Exit 1 on any error or lost point. Usage:
//   bazel run -c opt //bench:load_bench -- [--duration=180s] [--streams=50] [--steps_per_second=10]
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/load/load_test.h"
#include "common/testing/service_process.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(180), "How long the streams write.");
ABSL_FLAG(int, streams, 50, "Concurrent metric streams (one run and one connection each).");
ABSL_FLAG(double, steps_per_second, 10,
          "Steps each stream reports per second (22-37 points each); "
          "0: as fast as acknowledgements allow.");
ABSL_FLAG(int, grpc_query_threads, 2, "Threads looping over direct gRPC queries.");
ABSL_FLAG(bool, cli, true, "Also loop over jepalab CLI commands.");
ABSL_FLAG(std::string, data_dir, "", "Parent of the services' data; default: a fresh /tmp folder.");

namespace {

// A binary of this one's runfiles: `bazel run` starts in <binary>.runfiles/jepalab; run
// directly, the runfiles sit beside the binary. Canonical, so a rebuild mid-run changes nothing.
std::string RunfileBinary(const std::string& relative) {
  std::error_code error;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", error).string();
  for (const std::string& candidate :
       {relative, absl::StrCat(self, ".runfiles/jepalab/", relative)}) {
    if (std::filesystem::exists(candidate, error)) {
      return std::filesystem::canonical(candidate, error).string();
    }
  }
  return relative;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  jepalab::load::LoadTestOptions options;
  options.metrics_server = RunfileBinary("metrics_service/metrics_server");
  options.scheduler_server = RunfileBinary("scheduler_service/scheduler_server");
  if (absl::GetFlag(FLAGS_cli)) options.cli_binary = RunfileBinary("cli/jepalab");
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (options.data_dir.empty()) options.data_dir = jepalab::testing::MakeTempDir("load_bench_");
  std::filesystem::create_directories(options.data_dir);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.streams = absl::GetFlag(FLAGS_streams);
  options.steps_per_second = absl::GetFlag(FLAGS_steps_per_second);
  options.grpc_query_threads = absl::GetFlag(FLAGS_grpc_query_threads);
  if (options.streams < 1 || options.grpc_query_threads < 1) {
    std::fprintf(stderr, "load_bench: --streams and --grpc_query_threads must be >= 1\n");
    return 2;
  }
  std::printf("load_bench: %u hardware threads, %d streams for %s, data and logs under %s\n",
              std::thread::hardware_concurrency(), options.streams,
              absl::FormatDuration(options.duration).c_str(), options.data_dir.c_str());
  std::fflush(stdout);
  absl::StatusOr<jepalab::load::LoadTestResult> result = jepalab::load::RunLoadTest(options);
  if (!result.ok()) {
    std::fprintf(stderr, "load_bench: %s\n", result.status().ToString().c_str());
    return 1;
  }
  std::printf("%s", jepalab::load::FormatLoadReport(options, *result).c_str());
  return result->Passed() ? 0 : 1;
}
