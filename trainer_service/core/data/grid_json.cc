#include "trainer_service/core/data/grid_json.h"

#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jepalab::trainer {
namespace {

// How a bad cell reads in an error. Scalars as JSON text (cut at 40 characters); lists and
// objects by type only: json::dump recurses, so a hostile cell nested 100000 deep would
// overflow the stack (found feeding a hand-made deep input to the ASan fuzz build).
std::string CellText(const nlohmann::json& cell) {
  if (cell.is_structured()) return JsonTypeName(cell);
  std::string text = cell.dump();
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return text;
}

}  // namespace

absl::StatusOr<std::string> ReadFileLimited(const std::string& path, int64_t max_bytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, expected a file"));
  }
  if (static_cast<int64_t>(st.st_size) > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": file is ", st.st_size, " bytes, limit ", max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) return absl::InternalError(absl::StrCat(path, ": read failed"));
  return text;
}

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view where) {
  // The non-throwing overload: a syntax error yields a `discarded` value. Exceptions can still
  // come from allocation; catch everything nlohmann throws here, the innermost caller.
  try {
    nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                                                 /*allow_exceptions=*/true);
    return value;
  } catch (const nlohmann::json::exception& e) {
    std::string message = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> drop the tag.
    if (const size_t pos = message.find("] "); pos != std::string::npos) {
      message = message.substr(pos + 2);
    }
    return absl::InvalidArgumentError(absl::StrCat(where, ": invalid JSON: ", message));
  }
}

std::string JsonTypeName(const nlohmann::json& value) { return value.type_name(); }

absl::StatusOr<Grid> GridFromJson(const nlohmann::json& value, absl::string_view field,
                                  int max_color) {
  if (!value.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": expected a list of rows, got ", JsonTypeName(value)));
  }
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": grid has no rows"));
  Grid grid;
  grid.height = static_cast<int>(value.size());
  for (size_t y = 0; y < value.size(); ++y) {
    const nlohmann::json& row = value[y];
    if (!row.is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", y, "]: expected a row (list of integers), got ", JsonTypeName(row)));
    }
    if (y == 0) {
      if (row.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(field, "[0]: row has no cells"));
      }
      grid.width = static_cast<int>(row.size());
      grid.cells.reserve(static_cast<size_t>(grid.height) * grid.width);
    } else if (static_cast<int>(row.size()) != grid.width) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", y, "]: row has ", row.size(), " cells, expected ", grid.width));
    }
    for (size_t x = 0; x < row.size(); ++x) {
      const nlohmann::json& cell = row[x];
      // Integers only (as Python's json writes the reference's ints); 3.0 and true are refused.
      int64_t colour;
      if (cell.is_number_unsigned()) {
        const uint64_t u = cell.get<uint64_t>();
        colour = u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
      } else if (cell.is_number_integer()) {
        colour = cell.get<int64_t>();
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            field, "[", y, "][", x, "]: expected an integer colour, got ", CellText(cell)));
      }
      if (colour < 0 || colour > max_color) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, "[", y, "][", x, "]: colour ", colour, " outside 0..", max_color));
      }
      grid.cells.push_back(static_cast<int>(colour));
    }
  }
  return grid;
}

nlohmann::json GridToJson(const Grid& grid) {
  nlohmann::json rows = nlohmann::json::array();
  for (int y = 0; y < grid.height; ++y) {
    nlohmann::json row = nlohmann::json::array();
    for (int x = 0; x < grid.width; ++x) row.push_back(grid.at(y, x));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace jepalab::trainer
