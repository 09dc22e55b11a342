// Seeded synthetic ARC-like tasks (reference §1.2): palettes, random input grids and programs of
// grid primitives. Torch-free; the same seed gives the same tasks on every platform.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_GENERATOR_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_GENERATOR_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config/trainer_config.pb.h"

namespace jepalab::trainer {

// A rectangular grid of ARC colours, row-major.
struct Grid {
  int height = 0;
  int width = 0;
  std::vector<int> cells;  // height * width values

  Grid() = default;
  Grid(int h, int w, int fill) : height(h), width(w), cells(static_cast<size_t>(h) * w, fill) {}
  int at(int y, int x) const { return cells[static_cast<size_t>(y) * width + x]; }
  int& at(int y, int x) { return cells[static_cast<size_t>(y) * width + x]; }
  bool operator==(const Grid& o) const {
    return height == o.height && width == o.width && cells == o.cells;
  }
  bool operator!=(const Grid& o) const { return !(*this == o); }
};

// Keyword arguments of a primitive in the reference's declaration order, e.g.
// {{"dx", 1}, {"dy", -2}, {"fill", 0}} for translate.
using PrimitiveParams = std::vector<std::pair<std::string, int>>;

// One applied primitive with its sampled parameters (a `rule_trace` entry of §1.2).
struct PrimitiveCall {
  std::string name;
  PrimitiveParams params;

  std::string ParamsString() const;  // "dx=1 dy=-2 fill=0"
};

struct Task {
  std::string id;  // "<phase>_<6-digit counter>", phase atomic|sequential
  Grid input;
  Grid output;
  std::vector<PrimitiveCall> program;
  std::vector<int> palette;  // palette[0] is the background
};

// Fixed-algorithm random numbers: mt19937_64 plus our own range reduction, because
// std::uniform_int_distribution differs between standard libraries.
class TaskRng {
 public:
  explicit TaskRng(uint64_t seed) : engine_(seed) {}
  // Uniform in [lo, hi] (inclusive); lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Uniform in [0, 1) with 53 bits.
  double UniformDouble();
  bool Bernoulli(double p) { return UniformDouble() < p; }
  template <typename T>
  const T& Choice(const std::vector<T>& values) {
    return values[static_cast<size_t>(UniformInt(0, static_cast<int64_t>(values.size()) - 1))];
  }
  template <typename T>
  void Shuffle(std::vector<T>& values) {  // Fisher-Yates
    for (int64_t i = static_cast<int64_t>(values.size()) - 1; i > 0; --i) {
      std::swap(values[static_cast<size_t>(i)], values[static_cast<size_t>(UniformInt(0, i))]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

// Mixes (seed, stream) into an independent seed (SplitMix64), so each task has its own stream.
uint64_t MixSeed(uint64_t seed, uint64_t stream);

// Names of the implemented primitives (all 10 of reference §1.2), in registry order.
const std::vector<std::string>& PrimitiveNames();

// InvalidArgument naming the field (data.generator.<key>) for an unusable config.
absl::Status ValidateGeneratorConfig(const config::v1::GeneratorConfig& config);

// Generates config.num_atomic atomic tasks then config.num_sequential sequential ones (one id
// counter shared by both phases, as the reference). Task i draws only from its own stream
// MixSeed(config.seed, i), so the result is identical for every num_threads (<= 0: hardware
// concurrency). A task that fails max_task_retries times is skipped (its id is not reused).
// InvalidArgument from ValidateGeneratorConfig, or if no task at all could be generated.
absl::StatusOr<std::vector<Task>> GenerateTasks(const config::v1::GeneratorConfig& config,
                                                int num_threads = 1);

// Task `index` of the schedule (atomic below num_atomic, then sequential), or nullopt when it
// exhausted its retries. Pure function of (config, index).
std::optional<Task> GenerateTask(const config::v1::GeneratorConfig& config, int64_t index);

// Applies primitive `name` (one of PrimitiveNames()) with keyword `params`, as the reference's
// `primitive(grid, **params)`; parameters with a default may be omitted (rotate90 k=1, translate
// dx=dy=fill=0, threshold_gt low=0 high=1, extract_shape background=0). InvalidArgument for an
// unknown primitive, a missing or unknown parameter, or a seed outside the grid.
absl::StatusOr<Grid> ApplyPrimitive(absl::string_view name, const Grid& grid,
                                    const PrimitiveParams& params);

// Deterministic transforms, exposed for tests.
Grid MirrorX(const Grid& g);          // reverse row order
Grid MirrorY(const Grid& g);          // reverse each row
Grid Rotate90(const Grid& g, int k);  // k clockwise quarter turns
Grid Translate(const Grid& g, int dx, int dy, int fill);
Grid Recolor(const Grid& g, int source, int target);
Grid InvertPalette(const Grid& g);  // sorted present values -> reversed order
Grid ThresholdGt(const Grid& g, int threshold, int low, int high);  // v > threshold ? high : low
// 4-connected region of the seed's value -> fill. InvalidArgument if (y, x) is outside the grid.
absl::StatusOr<Grid> FloodFill(const Grid& g, int y, int x, int fill);
// 4-connected region through cells != the most common value (ties: first in raster order),
// cropped to its box, other box cells = background; [[background]] when the seed is on the most
// common value. InvalidArgument if (y, x) is outside the grid.
absl::StatusOr<Grid> ExtractShape(const Grid& g, int y, int x, int background);
// Cells valued a with an 8-neighbour valued b (and vice versa), judged on the input, -> target.
Grid MergeTouching(const Grid& g, int value_a, int value_b, int target);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_GENERATOR_H_
