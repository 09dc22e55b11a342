#include "bench/load/metric_stream.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace jepalab::load {
namespace {

namespace met = ::jepalab::metrics::v1;

double MillisSince(absl::Time start) { return absl::ToDoubleMilliseconds(absl::Now() - start); }

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("code ", static_cast<int>(status.error_code()), ": ", status.error_message());
}

}  // namespace

MetricStream::MetricStream(const MetricStreamOptions& options, const SyntheticRun* run,
                           LatencyRecorder* recorder)
    : options_(options), run_(run), recorder_(recorder) {
  // One channel (one TCP connection) per run, like separate trainer worker processes.
  grpc::ChannelArguments args;
  args.SetString("jepalab.load.run", run->run_id());  // distinct arguments: no shared subchannel
  stub_ = met::MetricsService::NewStub(
      grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args));
}

bool MetricStream::RegisterOnce() {
  met::RegisterRunRequest request;
  met::RunInfo* info = request.mutable_run();
  info->set_run_id(run_->run_id());
  info->set_experiment("load");
  info->set_config_hash("0123456789abcdef");
  info->set_state(common::v1::RUN_STATE_RUNNING);
  (*info->mutable_labels())["collapses"] = run_->collapses() ? "yes" : "no";
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  // A connection attempt that fails at start-up (seen once in CI on a busy host) must not fail
  // the run: wait for the channel, as a trainer's sink keeps retrying.
  context.set_wait_for_ready(true);
  met::RegisterRunResponse response;
  const absl::Time start = absl::Now();
  const grpc::Status status = stub_->RegisterRun(&context, request, &response);
  recorder_->Record("RegisterRun", MillisSince(start), status.ok(), Describe(status));
  return status.ok();
}

void MetricStream::MarkSucceeded() {
  met::UpdateRunStateRequest request;
  request.set_run_id(run_->run_id());
  request.set_state(common::v1::RUN_STATE_SUCCEEDED);
  request.set_message("load test done");
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  met::UpdateRunStateResponse response;
  const absl::Time start = absl::Now();
  const grpc::Status status = stub_->UpdateRunState(&context, request, &response);
  recorder_->Record("UpdateRunState", MillisSince(start), status.ok(), Describe(status));
}

MetricStream::Outcome MetricStream::WriteStream(int64_t first, int64_t limit, bool paced,
                                                const std::atomic<bool>& stop, absl::Time start) {
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.stream_age + options_.rpc_timeout));
  context.set_wait_for_ready(true);
  met::ReportMetricsResponse response;
  const absl::Time opened = absl::Now();
  auto writer = stub_->ReportMetrics(&context, &response);
  Outcome outcome{first, true};
  int64_t written_points = 0;
  while (outcome.end < limit) {
    if (paced) {
      if (stop.load() || absl::Now() - opened >= options_.stream_age) break;
      if (options_.steps_per_second > 0) {
        // Step s is due at start + s / rate; a late run sends at once (never bursts ahead).
        const absl::Time due =
            start + absl::Seconds(static_cast<double>(outcome.end) / options_.steps_per_second);
        if (due > absl::Now()) absl::SleepFor(due - absl::Now());
        if (stop.load()) break;
      }
    }
    const met::ReportMetricsRequest batch = run_->Batch(outcome.end);
    const absl::Time write_start = absl::Now();
    const bool written = writer->Write(batch);
    recorder_->Record("ReportMetrics Write", MillisSince(write_start), written,
                      "stream broken on Write");
    if (!written) {
      outcome.ok = false;
      break;
    }
    written_points += batch.points_size();
    ++outcome.end;
  }
  // The acknowledgement: the server answers once every point of the stream is durable.
  const absl::Time ack_start = absl::Now();
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  std::string error;
  if (!status.ok()) {
    error = Describe(status);
  } else if (response.accepted_points() != written_points) {
    error =
        absl::StrCat("accepted ", response.accepted_points(), " of ", written_points, " points");
  } else if (!outcome.ok) {
    error = "Write failed but the stream finished OK";
  }
  recorder_->Record("ReportMetrics ack", MillisSince(ack_start), error.empty(), error);
  outcome.ok = error.empty();
  return outcome;
}

bool MetricStream::Register() {
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (RegisterOnce()) return true;
    absl::SleepFor(absl::Milliseconds(100) * (attempt + 1));
  }
  return false;
}

MetricStreamResult MetricStream::Run(const std::atomic<bool>& stop) {
  MetricStreamResult result;
  const absl::Time start = absl::Now();
  bool gave_up = false;
  while (!stop.load() && !gave_up) {
    Outcome outcome = WriteStream(result.acked_steps, INT64_MAX, /*paced=*/true, stop, start);
    // Re-send a failed stream's steps, unpaced, as the sink re-sends its in-flight batches.
    for (int attempt = 1; !outcome.ok; ++attempt) {
      if (attempt == options_.max_attempts) {
        gave_up = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(200) * attempt);
      outcome = WriteStream(result.acked_steps, outcome.end, /*paced=*/false, stop, start);
    }
    if (outcome.ok) {
      result.acked_points +=
          run_->PointsBefore(outcome.end) - run_->PointsBefore(result.acked_steps);
      result.acked_steps = outcome.end;
    }
  }
  MarkSucceeded();
  return result;
}

}  // namespace jepalab::load
