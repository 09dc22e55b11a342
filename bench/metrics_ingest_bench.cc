// Benchmark of metrics_service: ingest points/s through the real gRPC ReportMetrics path on
// loopback (the real metrics_server binary, SQLite under a temp --data_dir, batched client
// streams, 1 and K concurrent clients), and the time of one Prometheus scrape (HTTP GET
// /metrics) with --runs live runs that each export the full set of series. Usage:
//   bazel run -c opt //bench:metrics_ingest_bench -- [--streams=1,8] [--points_per_batch=1000]
// Issue 4 targets on 2 cores: >= 200,000 points/s ingest, <= 50 ms per scrape.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/metric_names.h"
#include "common/testing/service_process.h"
#include "proto/common.pb.h"
#include "proto/metrics.grpc.pb.h"

ABSL_FLAG(std::string, metrics_server, "",
          "Path of metrics_server; default: the one in this binary's runfiles.");
ABSL_FLAG(std::string, data_dir, "",
          "Parent of the benchmark's databases; default: a fresh folder under /tmp. "
          "Durable ingest is bound by the fsync of this file system.");
ABSL_FLAG(std::vector<std::string>, streams, std::vector<std::string>({"1", "8"}),
          "Concurrent client streams (one channel each) to measure, comma-separated.");
ABSL_FLAG(int, points_per_batch, 1000, "Points per ReportMetricsRequest.");
ABSL_FLAG(int, batches_per_stream, 50, "Batches per ReportMetrics stream.");
ABSL_FLAG(int64_t, points_per_client, 400000, "Points each client sends per measurement.");
ABSL_FLAG(int, runs, 100, "Live runs for the scrape measurement.");
ABSL_FLAG(int, scrapes, 50, "Scrapes timed.");

namespace jepalab::metrics {
namespace {

namespace met = ::jepalab::metrics::v1;
namespace names = ::jepalab::metric_names;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the trainer reports per step (diagnostics every step here, the worst case): every name
// metrics_service exports, so that ingest pays for every Prometheus family and the detectors.
std::vector<std::string> AllSeries() {
  std::vector<std::string> series = {names::kLossTotal,
                                     names::kLossInfoNce,
                                     names::kLossSigreg,
                                     names::kLossInvariance,
                                     names::kLossRelational,
                                     names::kLossVq,
                                     names::kTemperature,
                                     names::kLearningRate,
                                     names::kGradNorm,
                                     names::kStepTimeSeconds,
                                     names::kQueueFill,
                                     names::kEpoch,
                                     names::kValLoss,
                                     names::kVqUsageRatio,
                                     names::kVqActiveCodes,
                                     names::kVqPerplexity,
                                     names::kVqDeadCodes,
                                     names::kVqRefreshes,
                                     names::kVqCodesReinitialized,
                                     names::kVqReinitializedInUse};
  for (const char* encoder : {"context", "target"}) {
    for (const char* stat :
         {names::kStatEffectiveRank, names::kStatIsotropy, names::kStatRankMe,
          names::kStatIsotropyRobust, names::kStatVariance, names::kStatGaussianScore}) {
      series.push_back(absl::StrCat(names::kDiagnosticsPrefix, encoder, "/", stat));
    }
  }
  return series;
}

// A healthy value per series (no detector fires), varying a little with the step.
double HealthyValue(const std::string& name, int64_t step) {
  if (absl::StrContains(name, "rank")) return 12.0 + (step % 7) * 0.1;
  if (absl::StrContains(name, "isotropy")) return 0.2;
  if (name == names::kVqUsageRatio) return 0.6;
  if (name == names::kVqRefreshes || name == names::kVqCodesReinitialized ||
      name == names::kVqReinitializedInUse) {
    return static_cast<double>(step / 100);
  }
  if (name == names::kStepTimeSeconds) return 0.01 + (step % 5) * 0.001;
  return 5.0 / (1.0 + 0.001 * step);
}

struct Server {
  std::unique_ptr<testing::ServiceProcess> process;
  int http_port = 0;
};

absl::StatusOr<Server> StartServer(const std::string& binary, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string http_port_file = dir + "/http_port";
  Server server;
  auto process = testing::ServiceProcess::Start(
      "metrics_server", binary,
      {"--data_dir=" + dir + "/data", "--http_port=0", "--http_port_file=" + http_port_file});
  if (!process.ok()) return process.status();
  server.process = *std::move(process);
  const std::string text = jepalab::common::ReadFile(http_port_file).value_or("");
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &server.http_port)) {
    return absl::InternalError("no HTTP port file");
  }
  return server;
}

absl::Status Register(met::MetricsService::Stub& stub, const std::string& run_id) {
  grpc::ClientContext context;
  met::RegisterRunRequest request;
  request.mutable_run()->set_run_id(run_id);
  request.mutable_run()->set_experiment("bench");
  request.mutable_run()->set_config_hash("0123456789abcdef");
  request.mutable_run()->set_state(common::v1::RUN_STATE_RUNNING);
  met::RegisterRunResponse response;
  const grpc::Status status = stub.RegisterRun(&context, request, &response);
  return status.ok() ? absl::OkStatus() : absl::UnavailableError(status.error_message());
}

// Builds the batches of one client up front, so the timed loop only sends.
std::vector<met::ReportMetricsRequest> MakeBatches(const std::string& run_id, int64_t points,
                                                   int points_per_batch) {
  const std::vector<std::string> series = AllSeries();
  std::vector<met::ReportMetricsRequest> batches;
  met::ReportMetricsRequest batch;
  int64_t made = 0;
  for (int64_t step = 0; made < points; ++step) {
    for (const std::string& name : series) {
      if (made == points) break;
      met::MetricPoint* point = batch.add_points();
      point->set_run_id(run_id);
      point->set_name(name);
      point->set_step(step);
      point->set_epoch(1 + static_cast<int32_t>(step / 1000));
      point->set_value(HealthyValue(name, step));
      ++made;
      if (batch.points_size() == points_per_batch) {
        batches.push_back(std::move(batch));
        batch.Clear();
      }
    }
  }
  if (batch.points_size() > 0) batches.push_back(std::move(batch));
  return batches;
}

// Sends `batches` over streams of batches_per_stream; false on any failure.
bool SendAll(met::MetricsService::Stub& stub, const std::vector<met::ReportMetricsRequest>& batches,
             int batches_per_stream) {
  for (size_t begin = 0; begin < batches.size(); begin += batches_per_stream) {
    const size_t end = std::min(batches.size(), begin + batches_per_stream);
    grpc::ClientContext context;
    met::ReportMetricsResponse response;
    auto writer = stub.ReportMetrics(&context, &response);
    int64_t sent = 0;
    for (size_t i = begin; i < end; ++i) {
      if (!writer->Write(batches[i])) break;
      sent += batches[i].points_size();
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    if (!status.ok() || response.accepted_points() != sent) {
      std::fprintf(stderr, "ReportMetrics failed: %s\n", status.error_message().c_str());
      return false;
    }
  }
  return true;
}

int MeasureIngest(const std::string& binary, const std::string& root, int clients) {
  const int points_per_batch = absl::GetFlag(FLAGS_points_per_batch);
  const int batches_per_stream = absl::GetFlag(FLAGS_batches_per_stream);
  const int64_t points_per_client = absl::GetFlag(FLAGS_points_per_client);
  absl::StatusOr<Server> server = StartServer(binary, absl::StrCat(root, "/ingest_", clients));
  if (!server.ok()) {
    std::fprintf(stderr, "metrics_ingest_bench: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<met::MetricsService::Stub>> stubs;
  std::vector<std::vector<met::ReportMetricsRequest>> batches;
  for (int c = 0; c < clients; ++c) {
    // One channel (one TCP connection) per client, like separate trainer processes.
    grpc::ChannelArguments args;
    args.SetInt("bench.client", c);  // distinct arguments: no shared subchannel
    stubs.push_back(met::MetricsService::NewStub(grpc::CreateCustomChannel(
        server->process->address(), grpc::InsecureChannelCredentials(), args)));
    const std::string run_id = absl::StrCat("bench-", clients, "-", c);
    if (absl::Status registered = Register(*stubs.back(), run_id); !registered.ok()) {
      std::fprintf(stderr, "metrics_ingest_bench: %s\n", registered.ToString().c_str());
      return 1;
    }
    batches.push_back(MakeBatches(run_id, points_per_client, points_per_batch));
  }
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      if (!SendAll(*stubs[c], batches[c], batches_per_stream)) failed = true;
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = SecondsSince(start);
  if (failed) return 1;
  const double points = static_cast<double>(points_per_client) * clients;
  std::printf(
      "ingest  clients=%d  points=%.0f  batch=%d points  stream=%d batches  "
      "time=%.3f s  %.0f points/s  (%.0f batches/s)\n",
      clients, points, points_per_batch, batches_per_stream, seconds, points / seconds,
      points / points_per_batch / seconds);
  std::fflush(stdout);
  return 0;
}

int MeasureScrape(const std::string& binary, const std::string& root) {
  const int runs = absl::GetFlag(FLAGS_runs);
  const int scrapes = absl::GetFlag(FLAGS_scrapes);
  absl::StatusOr<Server> server = StartServer(binary, root + "/scrape");
  if (!server.ok()) {
    std::fprintf(stderr, "metrics_ingest_bench: %s\n", server.status().ToString().c_str());
    return 1;
  }
  auto stub = met::MetricsService::NewStub(
      grpc::CreateChannel(server->process->address(), grpc::InsecureChannelCredentials()));
  // Every run reports every series for a few steps (histogram buckets filled, counters > 0),
  // and its context RankMe collapses, so the collapse state/event series exist too.
  const std::vector<std::string> series = AllSeries();
  for (int r = 0; r < runs; ++r) {
    const std::string run_id = absl::StrCat("run-", r);
    if (absl::Status registered = Register(*stub, run_id); !registered.ok()) {
      std::fprintf(stderr, "metrics_ingest_bench: %s\n", registered.ToString().c_str());
      return 1;
    }
    met::ReportMetricsRequest batch;
    for (int64_t step = 0; step < 200; step += 50) {
      for (const std::string& name : series) {
        met::MetricPoint* point = batch.add_points();
        point->set_run_id(run_id);
        point->set_name(name);
        point->set_step(step);
        point->set_epoch(1);
        double value = HealthyValue(name, step);
        if (name == "diagnostics/context/rankme" && step >= 100) value = 1.0;
        point->set_value(value);
      }
    }
    if (!SendAll(*stub, {batch}, 1)) return 1;
  }
  absl::StatusOr<std::string> first = testing::HttpGet(server->http_port, "/metrics");
  if (!first.ok()) {
    std::fprintf(stderr, "metrics_ingest_bench: %s\n", first.status().ToString().c_str());
    return 1;
  }
  int64_t samples = 0;
  for (absl::string_view line : absl::StrSplit(*first, '\n')) {
    if (!line.empty() && line[0] != '#') ++samples;
  }
  std::vector<double> ms;
  for (int i = 0; i < scrapes; ++i) {
    const Clock::time_point start = Clock::now();
    absl::StatusOr<std::string> body = testing::HttpGet(server->http_port, "/metrics");
    ms.push_back(SecondsSince(start) * 1000);
    if (!body.ok()) return 1;
  }
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double m : ms) sum += m;
  std::printf(
      "scrape  runs=%d  series/run=%zu reported  samples=%lld  body=%.1f KiB  "
      "scrapes=%d  mean=%.2f ms  p50=%.2f ms  p95=%.2f ms  max=%.2f ms\n",
      runs, series.size(), static_cast<long long>(samples), first->size() / 1024.0, scrapes,
      sum / ms.size(), ms[ms.size() / 2], ms[ms.size() * 95 / 100], ms.back());
  std::fflush(stdout);
  return 0;
}

std::string DefaultServerPath() {
  const std::string relative = "metrics_service/metrics_server";
  // `bazel run` starts in <binary>.runfiles/jepalab; run directly, the runfiles sit beside the
  // binary. Resolved once, so that a later build moving bazel-bin does not change it mid-run.
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

int Main() {
  std::string binary = absl::GetFlag(FLAGS_metrics_server);
  if (binary.empty()) binary = DefaultServerPath();
  std::string root = absl::GetFlag(FLAGS_data_dir);
  if (root.empty()) root = testing::MakeTempDir("metrics_bench_");
  std::printf("metrics_ingest_bench: %u hardware threads, data under %s\n",
              std::thread::hardware_concurrency(), root.c_str());
  for (const std::string& text : absl::GetFlag(FLAGS_streams)) {
    int clients = 0;
    if (!absl::SimpleAtoi(text, &clients) || clients < 1) {
      std::fprintf(stderr, "metrics_ingest_bench: streams: bad count \"%s\"\n", text.c_str());
      return 1;
    }
    if (MeasureIngest(binary, root, clients) != 0) return 1;
  }
  return MeasureScrape(binary, root);
}

}  // namespace
}  // namespace jepalab::metrics

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return jepalab::metrics::Main();
}
