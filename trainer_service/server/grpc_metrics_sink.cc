#include "trainer_service/server/grpc_metrics_sink.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace jepalab::trainer {
namespace {

bool Retryable(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

// A restarted metrics_service should get the buffered points within a second or two, not after
// gRPC's default reconnect backoff (growing to two minutes).
grpc::ChannelArguments QuickReconnect() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return args;
}

// Between two tries even when the channel reconnects at once: a connected metrics_service that
// keeps refusing is not retried in a tight loop.
constexpr absl::Duration kMinRetryDelay = absl::Milliseconds(200);

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("code ", static_cast<int>(status.error_code()), ": ", status.error_message());
}

}  // namespace

struct GrpcMetricsSink::Stream {
  std::unique_ptr<grpc::ClientContext> context;
  metrics::v1::ReportMetricsResponse response;
  std::unique_ptr<grpc::ClientWriter<metrics::v1::ReportMetricsRequest>> writer;
  std::vector<Op> inflight;  // written, not yet acknowledged (resent after a failure)
  absl::Time opened;
};

GrpcMetricsSink::GrpcMetricsSink(const GrpcMetricsSinkOptions& options)
    : options_(options),
      channel_(common::CreateClientChannel(options.address, options.security, QuickReconnect())),
      stub_(metrics::v1::MetricsService::NewStub(channel_)) {
  Op reg;
  reg.kind = Op::kRegister;
  Enqueue(std::move(reg));
  thread_ = std::thread([this] { Loop(); });
}

GrpcMetricsSink::~GrpcMetricsSink() { Close(options_.flush_timeout); }

void GrpcMetricsSink::Report(int64_t step, int32_t epoch, const MetricValues& values) {
  Op op;
  op.kind = Op::kPoints;
  for (const auto& [name, value] : values) {
    auto* point = op.points.add_points();
    point->set_run_id(options_.run.run_id());
    point->set_step(step);
    point->set_epoch(epoch);
    point->set_name(name);
    point->set_value(value);
    point->set_unix_ms(absl::ToUnixMillis(absl::Now()));
  }
  Enqueue(std::move(op));
}

void GrpcMetricsSink::UpdateRunState(common::v1::RunState state, const std::string& message) {
  Op op;
  op.kind = Op::kState;
  op.state = state;
  op.message = message;
  Enqueue(std::move(op));
}

void GrpcMetricsSink::Enqueue(Op op) {
  absl::MutexLock lock(&mu_);
  if (stop_) return;
  buffered_points_ += op.points.points_size();
  pending_.push_back(std::move(op));
  ++enqueued_;
  // Bounded buffer: drop the oldest step batches, never the one being sent (index 0) nor
  // registration/state ops.
  for (size_t i = 1; i < pending_.size() && buffered_points_ > options_.max_buffered_points;) {
    if (pending_[i].kind != Op::kPoints) {
      ++i;
      continue;
    }
    const int n = pending_[i].points.points_size();
    if (dropped_points_ == 0) {
      LOG(WARNING) << "metrics buffer full (" << options_.max_buffered_points
                   << " points); dropping the oldest";
    }
    dropped_points_ += n;
    buffered_points_ -= n;
    ++done_;
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void GrpcMetricsSink::Flush() {
  absl::MutexLock lock(&mu_);
  const int64_t target = enqueued_;
  flush_requested_ = true;
  auto settled = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return done_ >= target || !healthy_ || stop_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&settled), options_.flush_timeout);
  flush_requested_ = false;
}

void GrpcMetricsSink::Close(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
    give_up_at_ = absl::Now() + timeout;
  }
  thread_.join();
}

int64_t GrpcMetricsSink::dropped_points() const {
  absl::MutexLock lock(&mu_);
  return dropped_points_;
}

bool GrpcMetricsSink::IsHealthy() const {
  absl::MutexLock lock(&mu_);
  return healthy_;
}

void GrpcMetricsSink::SetHealthy(bool healthy) {
  absl::MutexLock lock(&mu_);
  if (healthy_ == healthy) return;
  healthy_ = healthy;
  if (healthy) LOG(INFO) << "metrics_service at " << options_.address << " reachable again";
}

bool GrpcMetricsSink::FinishStream(Stream* stream) {
  if (stream->writer == nullptr) return true;
  stream->writer->WritesDone();
  const grpc::Status status = stream->writer->Finish();
  std::vector<Op> inflight = std::move(stream->inflight);
  *stream = Stream();
  if (status.ok() || !Retryable(status)) {
    if (!status.ok()) {
      LOG(WARNING) << "metrics_service rejected " << inflight.size() << " point batches ("
                   << Describe(status) << "); dropping them";
    }
    absl::MutexLock lock(&mu_);
    for (const Op& op : inflight) buffered_points_ -= op.points.points_size();
    done_ += static_cast<int64_t>(inflight.size());
    return true;
  }
  LOG_IF(WARNING, IsHealthy()) << "metrics_service at " << options_.address << " unavailable ("
                               << Describe(status) << "); buffering points and retrying";
  absl::MutexLock lock(&mu_);
  pending_.insert(pending_.begin(), std::make_move_iterator(inflight.begin()),
                  std::make_move_iterator(inflight.end()));  // resend: points are idempotent
  return false;
}

bool GrpcMetricsSink::Process(const Op& op, Stream* stream) {
  auto unary_context = [this](grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  };
  grpc::Status status;
  switch (op.kind) {
    case Op::kPoints: {
      if (stream->writer == nullptr) {
        stream->context = std::make_unique<grpc::ClientContext>();
        // Streams live at most max_stream_age, so a generous deadline only bounds a hung peer.
        stream->context->set_deadline(absl::ToChronoTime(
            absl::Now() + options_.rpc_timeout + options_.max_stream_age + absl::Seconds(30)));
        stream->writer = stub_->ReportMetrics(stream->context.get(), &stream->response);
        stream->opened = absl::Now();
      }
      if (stream->writer->Write(op.points)) {
        stream->inflight.push_back(op);
        return true;
      }
      return FinishStream(stream) && false;  // broken stream: inflight requeued (or dropped)
    }
    case Op::kRegister: {
      grpc::ClientContext context;
      unary_context(&context);
      metrics::v1::RegisterRunRequest request;
      *request.mutable_run() = options_.run;
      metrics::v1::RegisterRunResponse response;
      status = stub_->RegisterRun(&context, request, &response);
      break;
    }
    case Op::kState: {
      if (!FinishStream(stream)) return false;  // points before the state change first
      grpc::ClientContext context;
      unary_context(&context);
      metrics::v1::UpdateRunStateRequest request;
      request.set_run_id(options_.run.run_id());
      request.set_state(op.state);
      request.set_message(op.message);
      metrics::v1::UpdateRunStateResponse response;
      status = stub_->UpdateRunState(&context, request, &response);
      break;
    }
  }
  if (status.ok()) return true;
  if (!Retryable(status)) {
    LOG(WARNING) << "metrics_service rejected "
                 << (op.kind == Op::kRegister ? "RegisterRun" : "UpdateRunState") << " ("
                 << Describe(status) << "); skipping it";
    return true;
  }
  LOG_IF(WARNING, IsHealthy()) << "metrics_service at " << options_.address << " unavailable ("
                               << Describe(status) << "); buffering points and retrying";
  return false;
}

void GrpcMetricsSink::Loop() {
  Stream stream;
  absl::Duration backoff = absl::Milliseconds(200);
  while (true) {
    std::optional<Op> op;
    bool stopping = false, flush = false;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !pending_.empty() || flush_requested_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(200));
      stopping = stop_;
      flush = flush_requested_;
      if (stopping && absl::Now() >= give_up_at_) {
        const int64_t left = static_cast<int64_t>(pending_.size() + stream.inflight.size());
        if (left > 0) {
          LOG(WARNING) << "metrics_service at " << options_.address << ": giving up on " << left
                       << " unsent batches at shutdown";
        }
        done_ = enqueued_;
        break;
      }
      if (!pending_.empty()) op = pending_.front();
    }
    bool ok = true;
    if (op.has_value()) {
      ok = Process(*op, &stream);
      if (ok) {
        absl::MutexLock lock(&mu_);
        pending_.pop_front();
        if (op->kind != Op::kPoints) ++done_;
      }
    }
    bool idle;
    {
      absl::MutexLock lock(&mu_);
      idle = pending_.empty();
    }
    if (ok && stream.writer != nullptr &&
        ((idle && (flush || stopping)) || absl::Now() - stream.opened > options_.max_stream_age)) {
      ok = FinishStream(&stream);
    }
    if (ok) {
      if (op.has_value()) {
        SetHealthy(true);
        backoff = absl::Milliseconds(200);
      }
      if (stopping && idle && stream.writer == nullptr) break;
      continue;
    }
    SetHealthy(false);
    const absl::Time failed_at = absl::Now();
    absl::Time retry_at = failed_at + backoff;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) retry_at = std::min(retry_at, give_up_at_);
    }
    if (channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) {
      // Disconnected: retry as soon as the channel is back (its own reconnect backoff is at most
      // 2 s), not only at the end of ours, whose doubling would otherwise overshoot a restart by
      // seconds; a worker flushing at shutdown has just flush_timeout to deliver its buffer.
      channel_->WaitForConnected(absl::ToChronoTime(retry_at));
      if (channel_->GetState(false) == GRPC_CHANNEL_READY) {
        retry_at = std::min(retry_at, failed_at + kMinRetryDelay);
      }
    }
    backoff = std::min(backoff * 2, absl::Seconds(5));
    absl::MutexLock lock(&mu_);
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_ && absl::Now() >= give_up_at_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&wake), retry_at);
  }
  if (stream.writer != nullptr) {
    stream.context->TryCancel();
    stream.writer->Finish();
  }
}

}  // namespace jepalab::trainer
