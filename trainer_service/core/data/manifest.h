// JSONL manifests of reference §1.3 (one JSON record per line) into JEPA samples. Record
// shapes, checked in this order: {"context", "target"}, {"input", "output"}, {"frames"}.
// Malformed input gives InvalidArgument "<file>:<line>: <field>: <problem>"; nothing throws.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_MANIFEST_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_MANIFEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trainer_service/core/data/grid_sample.h"

namespace jepalab::trainer {

struct ManifestOptions {
  int context_window = 3;  // data.context_window
  int target_offset = 1;   // data.target_offset (frames records only)
  // The reference enforces no upper bound; ours refuses colours above this (ARC uses 0..9, the
  // pilot generator config 0..5).
  int max_color = 9;
  int64_t max_file_bytes = int64_t{2} << 30;
};

// InvalidArgument naming data.context_window / data.target_offset when < 1.
absl::Status ValidateManifestOptions(const ManifestOptions& options);

// Parses JSONL text; `file` names it in errors. Blank lines are skipped.
// - context+target: context is a grid or a list of grids (fitted to context_window, §1.3),
//   target a grid or a list of grids (the first is used).
// - input+output: one sample with context (input,) fitted to context_window.
// - frames: a list of grids; for s in 0..len-(C+offset): context frames[s..s+C-1], target
//   frames[s+C+offset-1]; a shorter list gives no sample.
// Sample ids: the record's "id" string, else "<file>:<line>"; frames samples add "_<s>".
// InvalidArgument for bad options, invalid JSON, a non-object record, a record of none of the
// shapes, a bad grid (ragged, empty, non-integer, colour outside 0..max_color), or no sample
// at all in the whole manifest.
absl::StatusOr<std::vector<GridSample>> ParseManifest(absl::string_view text,
                                                      absl::string_view file,
                                                      const ManifestOptions& options);

// Reads (size-checked) and parses a manifest file. NotFound if it cannot be opened.
absl::StatusOr<std::vector<GridSample>> LoadManifestFile(const std::string& path,
                                                         const ManifestOptions& options);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_MANIFEST_H_
