// Fuzzes the worker -> trainer_service event stream decoder (EventDecoder): the first byte
// picks the read size (1..256 bytes per Append), the rest is the pipe's byte stream.
// Invariants: decoding in chunks gives the same events and verdict as decoding all at once,
// and every decoded event re-encodes (AppendDelimited) and decodes to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "trainer_service/core/worker_events.h"

namespace {

using jepalab::trainer::EventDecoder;
using jepalab::trainer::RunEvent;

struct Decoded {
  std::vector<RunEvent> events;
  bool corrupt = false;
};

// Feeds `stream` in pieces of `chunk` bytes, draining events after each, as RunManager does.
Decoded Decode(const std::string& stream, size_t chunk) {
  Decoded out;
  EventDecoder decoder;
  for (size_t at = 0; at < stream.size() && !out.corrupt; at += chunk) {
    decoder.Append(stream.data() + at, std::min(chunk, stream.size() - at));
    RunEvent event;
    EventDecoder::Result result;
    while ((result = decoder.Next(&event)) == EventDecoder::Result::kEvent) {
      out.events.push_back(event);
      event.Clear();
    }
    out.corrupt = result == EventDecoder::Result::kCorrupt;
  }
  return out;
}

bool SameEvents(const std::vector<RunEvent>& a, const std::vector<RunEvent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    // Bytes, not MessageDifferencer: a NaN metric value must equal itself here.
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Arbitrary bytes make protobuf log every invalid UTF-8 string it parses; expected here,
  // and the logging would dominate the run.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0];
  const std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const Decoded whole = Decode(stream, stream.size() + 1);
  const Decoded chunked = Decode(stream, chunk);
  FUZZ_CHECK(whole.corrupt == chunked.corrupt, "chunking changed the verdict");
  FUZZ_CHECK(SameEvents(whole.events, chunked.events), "chunking changed the events");

  std::string reencoded;
  for (const RunEvent& event : whole.events) jepalab::trainer::AppendDelimited(event, &reencoded);
  const Decoded again = Decode(reencoded, reencoded.size() + 1);
  FUZZ_CHECK(!again.corrupt, "a re-encoded stream is corrupt");
  FUZZ_CHECK(SameEvents(whole.events, again.events), "re-encoding changed the events");
  return 0;
}
