#include "bench/load/load_test.h"

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "bench/load/metric_stream.h"
#include "bench/load/query_load.h"
#include "bench/load/synthetic_run.h"
#include "common/status_macros.h"
#include "common/testing/service_process.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab::load {
namespace {

namespace met = ::jepalab::metrics::v1;
using ::jepalab::testing::ServiceProcess;

struct Services {
  std::unique_ptr<ServiceProcess> metrics;
  std::unique_ptr<ServiceProcess> scheduler;
  int metrics_http_port = 0;
};

absl::StatusOr<Services> StartServices(const LoadTestOptions& options) {
  Services services;
  const std::string http_port_file = options.data_dir + "/metrics_http_port";
  JEPALAB_ASSIGN_OR_RETURN(
      services.metrics,
      ServiceProcess::Start("metrics", options.metrics_server,
                            {"--data_dir=" + options.data_dir + "/metrics", "--http_port=0",
                             "--http_port_file=" + http_port_file}));
  const std::string port_text = testing::ReadTextFile(http_port_file);
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(port_text), &services.metrics_http_port)) {
    return absl::InternalError("metrics_server wrote no HTTP port file");
  }
  // The scheduler answers `jepalab list` and, like in production, follows the collapse events
  // of metrics_service. No trainer: nothing is dispatched in this test (port 9: discard).
  JEPALAB_ASSIGN_OR_RETURN(
      services.scheduler,
      ServiceProcess::Start(
          "scheduler", options.scheduler_server,
          {"--data_dir=" + options.data_dir + "/scheduler", "--trainers=127.0.0.1:9",
           "--metrics_address=" + services.metrics->address()}));
  return services;
}

// Reads every run's full history and checks it against what was acknowledged.
HistoryCheck CheckAllHistories(const std::string& address, const std::vector<SyntheticRun>& runs,
                               const std::vector<MetricStreamResult>& results,
                               LatencyRecorder* recorder) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(1 << 30);
  auto stub = met::MetricsService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  HistoryCheck total;
  for (size_t i = 0; i < runs.size(); ++i) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
    met::GetRunHistoryRequest request;
    request.set_run_id(runs[i].run_id());
    met::GetRunHistoryResponse response;
    const absl::Time start = absl::Now();
    const grpc::Status status = stub->GetRunHistory(&context, request, &response);
    recorder->Record("GetRunHistory (read-back)", absl::ToDoubleMilliseconds(absl::Now() - start),
                     status.ok(), status.error_message());
    if (status.ok()) {
      total += CheckHistory(runs[i], results[i].acked_steps, response);
    } else {  // an unreadable history counts every acknowledged point as lost
      HistoryCheck unreadable;
      unreadable.expected = unreadable.lost = runs[i].PointsBefore(results[i].acked_steps);
      total += unreadable;
    }
  }
  return total;
}

// User + system CPU seconds of a live process (fields 14 and 15 of /proc/<pid>/stat); 0 if
// unreadable.
double ProcessCpuSeconds(pid_t pid) {
  const std::string stat = testing::ReadTextFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return 0;
  const std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  double utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return 0;
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

absl::StatusOr<LoadTestResult> RunLoadTest(const LoadTestOptions& options) {
  JEPALAB_ASSIGN_OR_RETURN(Services services, StartServices(options));
  LatencyRecorder recorder;
  std::vector<SyntheticRun> runs;
  std::vector<std::string> run_ids;
  for (int i = 0; i < options.streams; ++i) {
    runs.emplace_back(absl::StrFormat("load-%03d", i), i, options.collapse_every);
    run_ids.push_back(runs.back().run_id());
  }

  MetricStreamOptions stream_options;
  stream_options.address = services.metrics->address();
  stream_options.steps_per_second = options.steps_per_second;
  std::vector<std::unique_ptr<MetricStream>> streams;
  for (const SyntheticRun& run : runs) {
    streams.push_back(std::make_unique<MetricStream>(stream_options, &run, &recorder));
  }
  std::vector<MetricStreamResult> results(runs.size());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> runs_failed{0};
  absl::BlockingCounter registered(options.streams);
  std::vector<std::thread> threads;
  const double metrics_cpu_before = ProcessCpuSeconds(services.metrics->pid());
  const double scheduler_cpu_before = ProcessCpuSeconds(services.scheduler->pid());
  const double client_cpu_before = SelfCpuSeconds();
  const absl::Time start = absl::Now();
  for (size_t i = 0; i < streams.size(); ++i) {
    threads.emplace_back([&, i] {
      const bool ok = streams[i]->Register();
      registered.DecrementCount();
      if (!ok) {
        runs_failed.fetch_add(1);
        return;
      }
      results[i] = streams[i]->Run(stop);
    });
  }
  registered.Wait();  // queries name the runs: they start once every run exists

  QueryLoadOptions query_options;
  query_options.metrics_address = services.metrics->address();
  query_options.scheduler_address = services.scheduler->address();
  query_options.metrics_http_port = services.metrics_http_port;
  query_options.cli_binary = options.cli_binary;
  query_options.run_ids = run_ids;
  query_options.grpc_threads = options.grpc_query_threads;
  query_options.grpc_interval = options.grpc_query_interval;
  query_options.cli_interval = options.cli_interval;
  query_options.scrape_interval = options.scrape_interval;
  LoadTestResult result;
  result.service_logs = {services.metrics->log_path(), services.scheduler->log_path()};
  {
    QueryLoad queries(query_options, &recorder);
    absl::SleepFor(options.duration - (absl::Now() - start));
    stop.store(true);
    for (std::thread& thread : threads) thread.join();
    result.stream_seconds = absl::ToDoubleSeconds(absl::Now() - start);
    // The subscriber gets the last events before it is cancelled.
    queries.Stop();
    result.collapse_events = queries.collapse_events();
  }
  result.metrics_cpu_seconds = ProcessCpuSeconds(services.metrics->pid()) - metrics_cpu_before;
  result.scheduler_cpu_seconds =
      ProcessCpuSeconds(services.scheduler->pid()) - scheduler_cpu_before;
  result.client_cpu_seconds = SelfCpuSeconds() - client_cpu_before;

  for (const MetricStreamResult& r : results) {
    result.acked_steps += r.acked_steps;
    result.acked_points += r.acked_points;
  }
  result.runs_failed = runs_failed.load();
  result.history = CheckAllHistories(services.metrics->address(), runs, results, &recorder);
  result.latencies = recorder.Summaries();
  result.errors = recorder.TotalErrors();
  // A clean shutdown is part of the test: SIGTERM must end both services.
  for (auto* process : {&services.scheduler, &services.metrics}) {
    absl::StatusOr<int> exit = (*process)->Terminate();
    if (!exit.ok() || *exit != 0) ++result.errors;
  }
  return result;
}

std::string FormatLoadReport(const LoadTestOptions& options, const LoadTestResult& result) {
  const HistoryCheck& h = result.history;
  std::string out = FormatLatencyTable(result.latencies);
  absl::StrAppend(
      &out,
      absl::StrFormat(
          "\nstreams=%d  target=%.0f steps/s each  duration=%.1f s  collapse events seen=%d\n",
          options.streams, options.steps_per_second, result.stream_seconds, result.collapse_events),
      absl::StrFormat(
          "ingest: %d steps, %d points acknowledged  %.0f points/s  %.1f steps/s "
          "(target %.0f steps/s)\n",
          result.acked_steps, result.acked_points, result.acked_points / result.stream_seconds,
          result.acked_steps / result.stream_seconds, options.streams * options.steps_per_second),
      absl::StrFormat("CPU seconds during the load: metrics_server %.1f  scheduler_server %.1f  "
                      "load generator %.1f  (wall %.1f s, %u hardware threads)\n",
                      result.metrics_cpu_seconds, result.scheduler_cpu_seconds,
                      result.client_cpu_seconds, result.stream_seconds,
                      std::thread::hardware_concurrency()),
      absl::StrFormat("points sent (acknowledged)=%d  stored=%d  lost=%d  duplicates=%d  "
                      "wrong values=%d  unexpected=%d  stored unacknowledged=%d\n",
                      h.expected, h.stored, h.lost, h.duplicates, h.wrong_value, h.unexpected,
                      h.unacknowledged),
      absl::StrFormat("errors=%d  runs that could not register=%d  => %s\n", result.errors,
                      result.runs_failed, result.Passed() ? "PASS" : "FAIL"),
      "service logs: ", absl::StrJoin(result.service_logs, " "), "\n");
  return out;
}

}  // namespace jepalab::load
