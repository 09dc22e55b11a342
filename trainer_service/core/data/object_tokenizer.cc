#include "trainer_service/core/data/object_tokenizer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace jepalab::trainer {
namespace {

constexpr int kBackgroundTableSize = 256;

}  // namespace

ObjectTokenizerOptions TokenizerOptionsFromConfig(const config::v1::TokenizerConfig& config) {
  ObjectTokenizerOptions options;
  options.max_objects = config.max_objects();
  options.max_color_features = config.max_color_features();
  if (config.background_size() > 0) {
    options.background.assign(config.background().begin(), config.background().end());
  }
  options.connectivity = config.connectivity();
  options.normalize = config.normalize();
  options.respect_colors = config.respect_colors();
  return options;
}

absl::Status ValidateTokenizerOptions(const ObjectTokenizerOptions& options) {
  if (options.max_objects < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.max_objects: must be >= 1, got ", options.max_objects));
  }
  if (options.max_color_features < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer.max_color_features: must be >= 0, got ", options.max_color_features));
  }
  if (options.connectivity != 4 && options.connectivity != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.connectivity: must be 4 or 8, got ", options.connectivity));
  }
  for (size_t i = 0; i < options.background.size(); ++i) {
    if (options.background[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.background[", i, "]: must be >= 0, got ", options.background[i]));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ObjectTokenizer> ObjectTokenizer::Create(ObjectTokenizerOptions options) {
  if (absl::Status status = ValidateTokenizerOptions(options); !status.ok()) return status;
  return ObjectTokenizer(std::move(options));
}

ObjectTokenizer::ObjectTokenizer(ObjectTokenizerOptions options)
    : options_(std::move(options)), background_table_(kBackgroundTableSize, 0) {
  for (int b : options_.background) {
    if (b >= 0 && b < kBackgroundTableSize) background_table_[static_cast<size_t>(b)] = 1;
  }
}

void ObjectTokenizer::Tokenize(const int* cells, int height, int width, TokenizedGrid* out) {
  const int n_max = options_.max_objects;
  const int f_dim = options_.feature_dim();
  out->max_objects = n_max;
  out->feature_dim = f_dim;
  out->features.assign(static_cast<size_t>(n_max) * f_dim, 0.0f);
  out->mask.assign(static_cast<size_t>(n_max), 0.0f);
  out->adjacency.assign(static_cast<size_t>(n_max) * n_max, 0.0f);
  out->num_objects = 0;
  out->num_components_before_truncation = 0;
  if (height <= 0 || width <= 0) return;  // the reference refuses such grids; pure padding

  const int total = height * width;
  labels_.assign(static_cast<size_t>(total), -1);
  cell_list_.resize(static_cast<size_t>(total));
  components_.clear();

  // Label components by flood fill in raster order of their first cell, which is exactly the
  // reference's renumbering (§2). cell_list_ doubles as the BFS queue: each component's cells
  // occupy one contiguous range of it.
  const bool eight = options_.connectivity == 8;
  static constexpr int kDy[8] = {-1, 1, 0, 0, -1, -1, 1, 1};
  static constexpr int kDx[8] = {0, 0, -1, 1, -1, 1, -1, 1};
  const int num_dirs = eight ? 8 : 4;
  int list_end = 0;
  for (int start = 0; start < total; ++start) {
    if (labels_[static_cast<size_t>(start)] >= 0 || IsBackground(cells[start])) continue;
    const int label = static_cast<int>(components_.size());
    Component comp{};
    comp.first_cell = start;
    comp.cells_begin = list_end;
    comp.min_y = height;
    comp.min_x = width;
    comp.max_y = -1;
    comp.max_x = -1;
    const int colour = cells[start];
    labels_[static_cast<size_t>(start)] = label;
    cell_list_[static_cast<size_t>(list_end++)] = start;
    for (int head = comp.cells_begin; head < list_end; ++head) {
      const int cell = cell_list_[static_cast<size_t>(head)];
      const int y = cell / width, x = cell % width;
      comp.min_y = std::min(comp.min_y, y);
      comp.max_y = std::max(comp.max_y, y);
      comp.min_x = std::min(comp.min_x, x);
      comp.max_x = std::max(comp.max_x, x);
      comp.sum_y += y;
      comp.sum_x += x;
      for (int d = 0; d < num_dirs; ++d) {
        const int ny = y + kDy[d], nx = x + kDx[d];
        if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
        const int neighbour = ny * width + nx;
        if (labels_[static_cast<size_t>(neighbour)] >= 0) continue;
        const int value = cells[neighbour];
        if (options_.respect_colors ? value != colour : IsBackground(value)) continue;
        labels_[static_cast<size_t>(neighbour)] = label;
        cell_list_[static_cast<size_t>(list_end++)] = neighbour;
      }
    }
    comp.area = list_end - comp.cells_begin;
    components_.push_back(comp);
  }
  const int num_components = static_cast<int>(components_.size());
  out->num_components_before_truncation = num_components;
  if (num_components == 0) return;

  // Area descending, ties by raster order of the first cell (= label order).
  order_.resize(static_cast<size_t>(num_components));
  for (int i = 0; i < num_components; ++i) order_[static_cast<size_t>(i)] = i;
  std::sort(order_.begin(), order_.end(), [this](int a, int b) {
    const int area_a = components_[static_cast<size_t>(a)].area;
    const int area_b = components_[static_cast<size_t>(b)].area;
    return area_a != area_b ? area_a > area_b : a < b;
  });
  const int kept = std::min(num_components, n_max);
  out->num_objects = kept;

  const bool norm = options_.normalize;
  const double s = norm ? static_cast<double>(total) : 1.0;
  const double h_scale = norm ? static_cast<double>(height) : 1.0;
  const double w_scale = norm ? static_cast<double>(width) : 1.0;
  for (int row = 0; row < kept; ++row) {
    Component& comp = components_[static_cast<size_t>(order_[static_cast<size_t>(row)])];
    const int label = order_[static_cast<size_t>(row)];
    // Perimeter: 4 minus the same-label 4-neighbours, summed over cells, even with
    // connectivity 8 (golden/README.md).
    int perimeter = 0;
    for (int i = comp.cells_begin; i < comp.cells_begin + comp.area; ++i) {
      const int cell = cell_list_[static_cast<size_t>(i)];
      const int y = cell / width, x = cell % width;
      int same = 0;
      if (y > 0 && labels_[static_cast<size_t>(cell - width)] == label) ++same;
      if (y + 1 < height && labels_[static_cast<size_t>(cell + width)] == label) ++same;
      if (x > 0 && labels_[static_cast<size_t>(cell - 1)] == label) ++same;
      if (x + 1 < width && labels_[static_cast<size_t>(cell + 1)] == label) ++same;
      perimeter += 4 - same;
    }
    comp.perimeter = perimeter;

    // Colour histogram by rank of colour id, colour count and dominant colour (ties: the colour
    // whose first cell comes first in raster order).
    colour_hist_.clear();
    int dominant = cells[comp.first_cell];
    if (options_.respect_colors) {
      colour_hist_.push_back(comp.area);
    } else {
      // Sort (colour, raster index) pairs of the component: runs give counts, ranks and firsts.
      colour_scratch_.resize(static_cast<size_t>(comp.area));
      for (int i = 0; i < comp.area; ++i) {
        colour_scratch_[static_cast<size_t>(i)] =
            cell_list_[static_cast<size_t>(comp.cells_begin + i)];
      }
      std::sort(colour_scratch_.begin(), colour_scratch_.end(), [cells](int a, int b) {
        return cells[a] != cells[b] ? cells[a] < cells[b] : a < b;
      });
      int best_count = -1, best_first = total;
      for (int i = 0; i < comp.area;) {
        const int value = cells[colour_scratch_[static_cast<size_t>(i)]];
        const int first = colour_scratch_[static_cast<size_t>(i)];
        int j = i;
        while (j < comp.area && cells[colour_scratch_[static_cast<size_t>(j)]] == value) ++j;
        const int count = j - i;
        colour_hist_.push_back(count);
        if (count > best_count || (count == best_count && first < best_first)) {
          best_count = count;
          best_first = first;
          dominant = value;
        }
        i = j;
      }
    }

    const int bbox_h = comp.max_y - comp.min_y + 1;
    const int bbox_w = comp.max_x - comp.min_x + 1;
    float* f = out->features.data() + static_cast<size_t>(row) * f_dim;
    f[kArea] = static_cast<float>(comp.area / s);
    f[kPerimeter] = static_cast<float>(comp.perimeter / s);
    f[kHeight] = static_cast<float>(bbox_h / h_scale);
    f[kWidth] = static_cast<float>(bbox_w / w_scale);
    f[kAspectRatio] = static_cast<float>(static_cast<double>(bbox_w) / bbox_h);
    f[kColorCount] = static_cast<float>(colour_hist_.size());
    f[kDominantColor] = static_cast<float>(dominant);
    f[kCentroidY] = static_cast<float>(static_cast<double>(comp.sum_y) / comp.area / h_scale);
    f[kCentroidX] = static_cast<float>(static_cast<double>(comp.sum_x) / comp.area / w_scale);
    f[kBboxMinY] = static_cast<float>(comp.min_y / h_scale);
    f[kBboxMinX] = static_cast<float>(comp.min_x / w_scale);
    f[kBboxMaxY] = static_cast<float>(comp.max_y / h_scale);
    f[kBboxMaxX] = static_cast<float>(comp.max_x / w_scale);
    const int slots =
        std::min<int>(options_.max_color_features, static_cast<int>(colour_hist_.size()));
    for (int j = 0; j < slots; ++j) {
      f[kHistogramStart + j] = static_cast<float>(colour_hist_[static_cast<size_t>(j)] / s);
    }
    out->mask[static_cast<size_t>(row)] = 1.0f;
  }

  // Adjacent unless a whole empty row or column separates the bounding boxes (§2).
  for (int i = 0; i < kept; ++i) {
    const Component& a = components_[static_cast<size_t>(order_[static_cast<size_t>(i)])];
    for (int j = i + 1; j < kept; ++j) {
      const Component& b = components_[static_cast<size_t>(order_[static_cast<size_t>(j)])];
      const bool separated = a.max_y + 1 < b.min_y || b.max_y + 1 < a.min_y ||
                             a.max_x + 1 < b.min_x || b.max_x + 1 < a.min_x;
      if (!separated) {
        out->adjacency[static_cast<size_t>(i) * n_max + j] = 1.0f;
        out->adjacency[static_cast<size_t>(j) * n_max + i] = 1.0f;
      }
    }
  }
}

}  // namespace jepalab::trainer
