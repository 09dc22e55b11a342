// Fuzzes the JSONL manifest loader (ParseManifest). The first byte picks context_window and
// target_offset (1..4 each), the rest is the manifest text.
// Invariant: every sample has exactly context_window context grids and a valid target.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "trainer_service/core/data/manifest.h"

namespace {

void CheckGrid(const jepalab::trainer::Grid& grid, int max_color, const std::string& id) {
  FUZZ_CHECK(grid.height >= 1 && grid.width >= 1, id);
  FUZZ_CHECK(grid.cells.size() == static_cast<size_t>(grid.height) * grid.width, id);
  for (const int cell : grid.cells) FUZZ_CHECK(cell >= 0 && cell <= max_color, id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  jepalab::trainer::ManifestOptions options;
  options.context_window = 1 + (data[0] & 3);
  options.target_offset = 1 + ((data[0] >> 2) & 3);
  const absl::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto samples = jepalab::trainer::ParseManifest(text, "fuzz.jsonl", options);
  if (!samples.ok()) {
    FUZZ_CHECK(absl::StartsWith(samples.status().message(), "fuzz.jsonl"),
               samples.status().ToString());
    return 0;
  }
  FUZZ_CHECK(!samples->empty(), "a manifest that parses holds a sample");
  for (const auto& sample : *samples) {
    FUZZ_CHECK(static_cast<int>(sample.context.size()) == options.context_window, sample.id);
    for (const auto& grid : sample.context) CheckGrid(grid, options.max_color, sample.id);
    CheckGrid(sample.target, options.max_color, sample.id);
  }
  return 0;
}
