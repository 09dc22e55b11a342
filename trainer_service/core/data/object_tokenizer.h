// Object tokenizer of reference §2: a grid becomes up to max_objects connected components, each
// a 13 + max_color_features feature row, with a validity mask and a bounding-box adjacency.
// Torch-free; the model wraps the flat arrays into tensors.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_OBJECT_TOKENIZER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_OBJECT_TOKENIZER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config/trainer_config.pb.h"
#include "trainer_service/core/data/grid_generator.h"

namespace jepalab::trainer {

// Column order of a feature row (reference §2 table); histogram slots start at kHistogramStart.
enum ObjectFeature : int {
  kArea = 0,
  kPerimeter = 1,
  kHeight = 2,
  kWidth = 3,
  kAspectRatio = 4,
  kColorCount = 5,
  kDominantColor = 6,
  kCentroidY = 7,
  kCentroidX = 8,
  kBboxMinY = 9,
  kBboxMinX = 10,
  kBboxMaxY = 11,
  kBboxMaxX = 12,
  kHistogramStart = 13,
};

struct ObjectTokenizerOptions {
  int max_objects = 16;
  int max_color_features = 10;
  std::vector<int> background = {0};  // cells with any of these values are background
  int connectivity = 4;               // 4 or 8
  bool normalize = true;
  bool respect_colors = true;  // label each colour separately

  int feature_dim() const { return kHistogramStart + max_color_features; }
};

// The options of a config's `tokenizer` block (an empty background list means [0]).
ObjectTokenizerOptions TokenizerOptionsFromConfig(const config::v1::TokenizerConfig& config);

// InvalidArgument naming the field (e.g. "tokenizer.connectivity: must be 4 or 8, got 6").
absl::Status ValidateTokenizerOptions(const ObjectTokenizerOptions& options);

// One tokenised grid, row-major float32 like the reference's TokenizedObjects.to_tensors().
struct TokenizedGrid {
  int max_objects = 0;           // N
  int feature_dim = 0;           // F
  std::vector<float> features;   // [N, F]; padding rows are all zero
  std::vector<float> mask;       // [N]; 1 for the first num_objects rows
  std::vector<float> adjacency;  // [N, N]; 0/1, symmetric, zero diagonal and padding
  int num_objects = 0;
  int num_components_before_truncation = 0;

  float feature(int object, int column) const {
    return features[static_cast<size_t>(object) * feature_dim + column];
  }
  float adjacent(int i, int j) const { return adjacency[static_cast<size_t>(i) * max_objects + j]; }
};

// Tokenizes grids with reusable scratch buffers, so steady-state tokenization allocates only
// when a grid is larger than any seen before. Thread-compatible: use one per thread.
class ObjectTokenizer {
 public:
  // InvalidArgument from ValidateTokenizerOptions.
  static absl::StatusOr<ObjectTokenizer> Create(ObjectTokenizerOptions options);

  const ObjectTokenizerOptions& options() const { return options_; }

  // Tokenizes a row-major height x width grid of non-negative colours into `out` (resized to
  // N x F; its buffers are reused). An empty grid gives pure padding.
  void Tokenize(const int* cells, int height, int width, TokenizedGrid* out);
  void Tokenize(const Grid& grid, TokenizedGrid* out) {
    Tokenize(grid.cells.data(), grid.height, grid.width, out);
  }
  TokenizedGrid Tokenize(const Grid& grid) {
    TokenizedGrid out;
    Tokenize(grid, &out);
    return out;
  }

 private:
  explicit ObjectTokenizer(ObjectTokenizerOptions options);

  bool IsBackground(int value) const {
    if (value >= 0 && value < static_cast<int>(background_table_.size())) {
      return background_table_[static_cast<size_t>(value)] != 0;
    }
    for (int b : options_.background) {
      if (b == value) return true;
    }
    return false;
  }

  struct Component {
    int first_cell;  // raster index of the first cell, which orders labels
    int area;
    int perimeter;
    int min_y, min_x, max_y, max_x;
    int64_t sum_y, sum_x;
    int cells_begin;  // this component's cells in cell_list_, [begin, begin + area)
  };

  ObjectTokenizerOptions options_;
  std::vector<char> background_table_;  // for values < 256
  // Scratch, reused between calls.
  std::vector<int> labels_;     // per cell: component index or -1
  std::vector<int> cell_list_;  // cells grouped by component (flood-fill order)
  std::vector<Component> components_;
  std::vector<int> order_;
  std::vector<int> colour_scratch_;  // one component's cells sorted by (colour, raster index)
  std::vector<int> colour_hist_;     // cell count per colour present, ascending colour id
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_OBJECT_TOKENIZER_H_
