// The worker -> parent pipe protocol: a stream of RunEvent protos (trainer.v1), each framed as
// a varint length followed by the serialized bytes (protobuf's "delimited" format).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_WORKER_EVENTS_H_
#define JEPALAB_TRAINER_SERVICE_CORE_WORKER_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/trainer.pb.h"
#include "trainer_service/core/metrics_sink.h"

namespace jepalab::trainer {

using ::jepalab::trainer::v1::RunEvent;

// Appends one framed event to `out`.
void AppendDelimited(const RunEvent& event, std::string* out);

// Incremental decoder for the parent's side of the pipe. Thread-compatible.
class EventDecoder {
 public:
  enum class Result { kEvent, kNeedMore, kCorrupt };
  void Append(const char* data, size_t size) { buffer_.append(data, size); }
  // Takes the next complete event out of the buffer.
  Result Next(RunEvent* event);
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

// The worker's side: numbers and timestamps events and writes each as one framed write(2) to
// `fd`. Thread-safe. Write errors (parent gone) are remembered, never thrown.
class EventWriter {
 public:
  EventWriter(int fd, std::string run_id) : fd_(fd), run_id_(std::move(run_id)) {}

  absl::Status State(common::v1::RunState state, const std::string& message);
  absl::Status Progress(const common::v1::RunProgress& progress);
  absl::Status Metrics(int64_t step, int32_t epoch, const MetricValues& values);
  bool broken() const;

 private:
  absl::Status Write(RunEvent event);

  const int fd_;
  const std::string run_id_;
  mutable absl::Mutex mu_;
  int64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

// The RUNNING state event carries the device as its message: "device: cpu".
inline constexpr char kDeviceMessagePrefix[] = "device: ";

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_WORKER_EVENTS_H_
