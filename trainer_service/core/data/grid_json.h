// Reading grids from JSON (ARC task files, JSONL manifests, golden vectors): size-limited file
// reads, exception-free parsing, and grid validation whose errors name the field path.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_JSON_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_JSON_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "trainer_service/core/data/grid_generator.h"

namespace jepalab::trainer {

// The whole file. NotFound if it cannot be opened; InvalidArgument "<path>: file is N bytes,
// limit M" when it is larger than max_bytes.
absl::StatusOr<std::string> ReadFileLimited(const std::string& path, int64_t max_bytes);

// Parses JSON text; InvalidArgument "<where>: invalid JSON: <parser message>" on a syntax error.
// Never throws.
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view where);

// A grid from a JSON list of equally long, non-empty lists of integers in [0, max_color].
// InvalidArgument naming `field` and the offending row/cell, e.g.
// "train[2].input[3]: row has 5 cells, expected 6" or "input[0][1]: colour 12 outside 0..9".
absl::StatusOr<Grid> GridFromJson(const nlohmann::json& value, absl::string_view field,
                                  int max_color);

// The grid as a JSON list of rows.
nlohmann::json GridToJson(const Grid& grid);

// A short name for a JSON value's type, for messages ("string", "array", ...).
std::string JsonTypeName(const nlohmann::json& value);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_JSON_H_
