#include "bench/load/query_load.h"

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metric_names.h"
#include "common/testing/service_process.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab::load {
namespace {

namespace met = ::jepalab::metrics::v1;
namespace names = ::jepalab::metric_names;

double MillisSince(absl::Time start) { return absl::ToDoubleMilliseconds(absl::Now() - start); }

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("code ", static_cast<int>(status.error_code()), ": ", status.error_message());
}

}  // namespace

QueryLoad::QueryLoad(const QueryLoadOptions& options, LatencyRecorder* recorder)
    : options_(options), recorder_(recorder) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  metrics_channel_ =
      grpc::CreateCustomChannel(options.metrics_address, grpc::InsecureChannelCredentials(), args);
  for (int i = 0; i < options.grpc_threads; ++i) threads_.emplace_back([this, i] { GrpcLoop(i); });
  if (!options.cli_binary.empty()) threads_.emplace_back([this] { CliLoop(); });
  if (options.metrics_http_port > 0) threads_.emplace_back([this] { ScrapeLoop(); });
  threads_.emplace_back([this] { WatchLoop(); });
}

QueryLoad::~QueryLoad() { Stop(); }

void QueryLoad::Stop() {
  if (stop_.exchange(true)) return;
  watch_context_.TryCancel();
  for (std::thread& thread : threads_) thread.join();
}

void QueryLoad::Pause(absl::Duration interval) {
  const absl::Time until = absl::Now() + interval;
  while (!stop_.load() && absl::Now() < until) {
    absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
  }
}

void QueryLoad::GrpcLoop(int thread_index) {
  auto stub = met::MetricsService::NewStub(metrics_channel_);
  const std::vector<std::string>& runs = options_.run_ids;
  const auto deadline = [this](grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  };
  for (int64_t i = thread_index; !stop_.load(); i += options_.grpc_threads) {
    const std::string& run = runs[static_cast<size_t>(i) % runs.size()];
    grpc::ClientContext context;
    deadline(&context);
    const absl::Time start = absl::Now();
    grpc::Status status;
    std::string kind;
    switch (i % 4) {
      case 0: {  // a chart: two series, downsampled, as the report and Grafana ask
        kind = "GetRunHistory";
        met::GetRunHistoryRequest request;
        request.set_run_id(run);
        request.add_names(names::kLossTotal);
        request.add_names("diagnostics/context/rankme");
        request.set_max_points(500);
        met::GetRunHistoryResponse response;
        status = stub->GetRunHistory(&context, request, &response);
        if (status.ok() && response.series_size() == 0) {
          status = grpc::Status(grpc::StatusCode::INTERNAL, "no series in the history");
        }
        break;
      }
      case 1: {
        kind = "ListRuns";
        met::ListRunsRequest request;
        met::ListRunsResponse response;
        status = stub->ListRuns(&context, request, &response);
        if (status.ok() && response.runs_size() < static_cast<int>(runs.size())) {
          status = grpc::Status(grpc::StatusCode::INTERNAL,
                                absl::StrCat("ListRuns: ", response.runs_size(), " runs"));
        }
        break;
      }
      case 2: {  // three runs, every metric: summaries and detector replays
        kind = "CompareRuns";
        met::CompareRunsRequest request;
        for (size_t k = 0; k < 3; ++k) request.add_run_ids(runs[(i + k * 7) % runs.size()]);
        met::CompareRunsResponse response;
        status = stub->CompareRuns(&context, request, &response);
        break;
      }
      default: {
        kind = "GetCollapseStatus";
        met::GetCollapseStatusRequest request;
        request.set_run_id(run);
        met::GetCollapseStatusResponse response;
        status = stub->GetCollapseStatus(&context, request, &response);
        break;
      }
    }
    recorder_->Record(kind, MillisSince(start), status.ok(), Describe(status));
    Pause(options_.grpc_interval);
  }
}

void QueryLoad::CliLoop() {
  const std::vector<std::string>& runs = options_.run_ids;
  const std::vector<std::string> endpoints = {"--metrics=" + options_.metrics_address,
                                              "--scheduler=" + options_.scheduler_address,
                                              "--timeout=30"};
  for (int64_t i = 0; !stop_.load(); ++i) {
    const std::string& run = runs[static_cast<size_t>(i) % runs.size()];
    std::vector<std::string> args;
    std::string kind, expect;
    switch (i % 4) {
      case 0:
        kind = "CLI metrics --name";
        args = {"metrics", run, "--name", names::kLossTotal};
        expect = "run,name,step,epoch,value";
        break;
      case 1:
        kind = "CLI metrics --summary";
        args = {"metrics", run, "--summary", "--max_points", "200"};
        expect = "METRIC";
        break;
      case 2:
        kind = "CLI compare";
        args = {"compare", run, runs[static_cast<size_t>(i + 1) % runs.size()], "--name",
                names::kLossTotal};
        expect = names::kLossTotal;
        break;
      default:
        kind = "CLI list";
        args = {"list"};
        expect = "EXPERIMENT";
        break;
    }
    args.insert(args.end(), endpoints.begin(), endpoints.end());
    const absl::Time start = absl::Now();
    const auto [code, output] = testing::RunCommand(options_.cli_binary, args);
    const bool ok = code == 0 && absl::StrContains(output, expect);
    recorder_->Record(kind, MillisSince(start), ok,
                      absl::StrCat("exit ", code, ": ", output.substr(0, 300)));
    Pause(options_.cli_interval);
  }
}

void QueryLoad::ScrapeLoop() {
  while (!stop_.load()) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> body = testing::HttpGet(options_.metrics_http_port, "/metrics");
    const bool ok = body.ok() && absl::StrContains(*body, "jepalab_");
    recorder_->Record("HTTP GET /metrics", MillisSince(start), ok,
                      body.ok() ? "no jepalab_ series in the body" : body.status().ToString());
    Pause(options_.scrape_interval);
  }
}

void QueryLoad::WatchLoop() {
  // Like the scheduler: one long-lived subscription to every run's collapse events.
  auto stub = met::MetricsService::NewStub(metrics_channel_);
  met::WatchCollapseEventsRequest request;
  request.set_include_current(true);
  auto reader = stub->WatchCollapseEvents(&watch_context_, request);
  met::CollapseEvent event;
  while (reader->Read(&event)) collapse_events_.fetch_add(1);
  const grpc::Status status = reader->Finish();
  // Ended by Stop() (CANCELLED) is the expected end; anything else is an error.
  const bool ok = status.error_code() == grpc::StatusCode::CANCELLED && stop_.load();
  recorder_->Record("WatchCollapseEvents", 0, ok, Describe(status));
}

}  // namespace jepalab::load
