#include "trainer_service/core/worker_events.h"

#include <errno.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace jepalab::trainer {

void AppendDelimited(const RunEvent& event, std::string* out) {
  std::string body;
  event.SerializeToString(&body);
  {
    google::protobuf::io::StringOutputStream stream(out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteVarint32(static_cast<uint32_t>(body.size()));
  }
  out->append(body);
}

EventDecoder::Result EventDecoder::Next(RunEvent* event) {
  if (buffer_.empty()) return Result::kNeedMore;
  // Decode the varint length by hand: it may itself be split across reads.
  uint64_t length = 0;
  size_t header = 0;
  for (;; ++header) {
    if (header >= buffer_.size()) return Result::kNeedMore;
    if (header >= 5) return Result::kCorrupt;
    const auto byte = static_cast<uint8_t>(buffer_[header]);
    length |= static_cast<uint64_t>(byte & 0x7f) << (7 * header);
    if ((byte & 0x80) == 0) {
      ++header;
      break;
    }
  }
  if (length > (64u << 20)) return Result::kCorrupt;
  if (buffer_.size() < header + length) return Result::kNeedMore;
  if (!event->ParseFromArray(buffer_.data() + header, static_cast<int>(length)))
    return Result::kCorrupt;
  buffer_.erase(0, header + length);
  return Result::kEvent;
}

absl::Status EventWriter::State(common::v1::RunState state, const std::string& message) {
  RunEvent event;
  event.mutable_state_change()->set_state(state);
  event.mutable_state_change()->set_message(message);
  return Write(std::move(event));
}

absl::Status EventWriter::Progress(const common::v1::RunProgress& progress) {
  RunEvent event;
  *event.mutable_progress() = progress;
  return Write(std::move(event));
}

absl::Status EventWriter::Metrics(int64_t step, int32_t epoch, const MetricValues& values) {
  RunEvent event;
  auto* batch = event.mutable_metrics();
  batch->set_step(step);
  batch->set_epoch(epoch);
  for (const auto& [name, value] : values) {
    auto* v = batch->add_values();
    v->set_name(name);
    v->set_value(value);
  }
  return Write(std::move(event));
}

bool EventWriter::broken() const {
  absl::MutexLock lock(&mu_);
  return broken_;
}

absl::Status EventWriter::Write(RunEvent event) {
  absl::MutexLock lock(&mu_);
  if (broken_) return absl::UnavailableError("event pipe is closed");
  event.set_run_id(run_id_);
  event.set_sequence(++sequence_);
  event.set_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
  std::string frame;
  AppendDelimited(event, &frame);
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      broken_ = true;
      return absl::UnavailableError(
          absl::StrCat("event pipe write failed: ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace jepalab::trainer
