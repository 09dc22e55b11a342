#include "trainer_service/core/data/grid_generator.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace jepalab::trainer {

std::string PrimitiveCall::ParamsString() const {
  return absl::StrJoin(params, " ", [](std::string* out, const std::pair<std::string, int>& p) {
    absl::StrAppend(out, p.first, "=", p.second);
  });
}

int64_t TaskRng::UniformInt(int64_t lo, int64_t hi) {
  const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
  if (range == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
  // Rejection sampling: accept draws below the largest multiple of `range`, so every value is
  // equally likely and the algorithm is fixed (unlike std::uniform_int_distribution).
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t draw = engine_();
  while (draw >= limit) draw = engine_();
  return lo + static_cast<int64_t>(draw % range);
}

double TaskRng::UniformDouble() {
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}

uint64_t MixSeed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Grid MirrorX(const Grid& g) {
  Grid out(g.height, g.width, 0);
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x) out.at(y, x) = g.at(g.height - 1 - y, x);
  return out;
}

Grid MirrorY(const Grid& g) {
  Grid out(g.height, g.width, 0);
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x) out.at(y, x) = g.at(y, g.width - 1 - x);
  return out;
}

Grid Rotate90(const Grid& g, int k) {
  Grid out = g;
  for (int turn = 0; turn < ((k % 4) + 4) % 4; ++turn) {
    Grid r(out.width, out.height, 0);  // clockwise: new (y, x) = old (H-1-x, y)
    for (int y = 0; y < r.height; ++y)
      for (int x = 0; x < r.width; ++x) r.at(y, x) = out.at(out.height - 1 - x, y);
    out = std::move(r);
  }
  return out;
}

Grid Translate(const Grid& g, int dx, int dy, int fill) {
  Grid out(g.height, g.width, fill);
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      const int ny = y + dy, nx = x + dx;
      if (ny >= 0 && ny < g.height && nx >= 0 && nx < g.width) out.at(ny, nx) = g.at(y, x);
    }
  }
  return out;
}

Grid Recolor(const Grid& g, int source, int target) {
  Grid out = g;
  for (int& c : out.cells) {
    if (c == source) c = target;
  }
  return out;
}

Grid InvertPalette(const Grid& g) {
  std::vector<int> present = g.cells;
  std::sort(present.begin(), present.end());
  present.erase(std::unique(present.begin(), present.end()), present.end());
  std::map<int, int> mapping;
  for (size_t i = 0; i < present.size(); ++i) mapping[present[i]] = present[present.size() - 1 - i];
  Grid out = g;
  for (int& c : out.cells) c = mapping[c];
  return out;
}

Grid ThresholdGt(const Grid& g, int threshold, int low, int high) {
  Grid out = g;
  for (int& c : out.cells) c = c > threshold ? high : low;
  return out;
}

namespace {

using config::v1::GeneratorConfig;

absl::Status SeedInside(absl::string_view primitive, const Grid& g, int y, int x) {
  if (y < 0 || y >= g.height || x < 0 || x >= g.width) {
    return absl::InvalidArgumentError(absl::StrCat(
        primitive, ": seed (", y, ", ", x, ") outside the ", g.height, "x", g.width, " grid"));
  }
  return absl::OkStatus();
}

// The most common value; ties go to the value seen first in raster order (Python's Counter keeps
// insertion order, golden primitives.json D_2x2_tie).
int MostCommonValue(const Grid& g) {
  std::map<int, std::pair<int, size_t>> stats;  // value -> (count, first raster index)
  for (size_t i = 0; i < g.cells.size(); ++i) {
    auto [it, inserted] = stats.try_emplace(g.cells[i], 0, i);
    ++it->second.first;
  }
  int best = 0, best_count = -1;
  size_t best_first = 0;
  for (const auto& [value, stat] : stats) {
    if (stat.first > best_count || (stat.first == best_count && stat.second < best_first)) {
      best = value, best_count = stat.first, best_first = stat.second;
    }
  }
  return best;
}

// Cells reachable from (y0, x0) through 4-neighbours satisfying `inside`.
template <typename Inside>
std::vector<std::pair<int, int>> Component(const Grid& g, int y0, int x0, Inside inside) {
  std::vector<std::pair<int, int>> out;
  std::vector<char> seen(g.cells.size(), 0);
  std::vector<std::pair<int, int>> stack = {{y0, x0}};
  seen[static_cast<size_t>(y0) * g.width + x0] = 1;
  while (!stack.empty()) {
    auto [y, x] = stack.back();
    stack.pop_back();
    out.push_back({y, x});
    static constexpr int kDy[] = {-1, 1, 0, 0}, kDx[] = {0, 0, -1, 1};
    for (int d = 0; d < 4; ++d) {
      const int ny = y + kDy[d], nx = x + kDx[d];
      if (ny < 0 || ny >= g.height || nx < 0 || nx >= g.width) continue;
      const size_t idx = static_cast<size_t>(ny) * g.width + nx;
      if (seen[idx] || !inside(g.at(ny, nx))) continue;
      seen[idx] = 1;
      stack.push_back({ny, nx});
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<Grid> FloodFill(const Grid& g, int y, int x, int fill) {
  if (absl::Status s = SeedInside("flood_fill", g, y, x); !s.ok()) return s;
  const int seed_value = g.at(y, x);
  Grid out = g;
  if (fill == seed_value) return out;
  for (auto [cy, cx] : Component(g, y, x, [&](int v) { return v == seed_value; })) {
    out.at(cy, cx) = fill;
  }
  return out;
}

absl::StatusOr<Grid> ExtractShape(const Grid& g, int y, int x, int background) {
  if (absl::Status s = SeedInside("extract_shape", g, y, x); !s.ok()) return s;
  const int common = MostCommonValue(g);
  if (g.at(y, x) == common) return Grid(1, 1, background);
  const auto cells = Component(g, y, x, [&](int v) { return v != common; });
  int y0 = g.height, y1 = -1, x0 = g.width, x1 = -1;
  for (auto [cy, cx] : cells) {
    y0 = std::min(y0, cy), y1 = std::max(y1, cy), x0 = std::min(x0, cx), x1 = std::max(x1, cx);
  }
  Grid out(y1 - y0 + 1, x1 - x0 + 1, background);
  for (auto [cy, cx] : cells) out.at(cy - y0, cx - x0) = g.at(cy, cx);
  return out;
}

Grid MergeTouching(const Grid& g, int value_a, int value_b, int target) {
  // 8-neighbourhood although the reference's docstring says 4 (golden/README.md); reads the
  // input and writes a copy, so nothing cascades.
  Grid out = g;
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      const int v = g.at(y, x);
      if (v != value_a && v != value_b) continue;
      const int other = v == value_a ? value_b : value_a;
      bool touches = false;
      for (int dy = -1; dy <= 1 && !touches; ++dy) {
        for (int dx = -1; dx <= 1 && !touches; ++dx) {
          const int ny = y + dy, nx = x + dx;
          touches = (dy || dx) && ny >= 0 && ny < g.height && nx >= 0 && nx < g.width &&
                    g.at(ny, nx) == other;
        }
      }
      if (touches) out.at(y, x) = target;
    }
  }
  return out;
}

namespace {

struct ParamSpec {
  const char* name;
  std::optional<int> default_value;
};

// A primitive: declared parameters (registry order and defaults of golden primitives.json), its
// parameter sampler (§1.2 table) and its application.
struct PrimitiveDef {
  const char* name;
  std::vector<ParamSpec> params;
  // Samples parameters; nullopt when the palette allows none.
  std::function<std::optional<PrimitiveParams>(const Grid&, const std::vector<int>&, TaskRng&)>
      sample;
  // Applies with the resolved parameter values, in `params` order.
  std::function<absl::StatusOr<Grid>(const Grid&, const std::vector<int>&)> apply;
};

std::vector<int> Foreground(const std::vector<int>& palette) {
  return std::vector<int>(palette.begin() + 1, palette.end());
}

int DrawOther(const std::vector<int>& palette, int exclude, TaskRng& rng) {
  std::vector<int> rest;
  for (int c : palette) {
    if (c != exclude) rest.push_back(c);
  }
  return rest.empty() ? exclude : rng.Choice(rest);
}

using Palette = std::vector<int>;
using Args = std::vector<int>;

std::optional<PrimitiveParams> NoParams(const Grid&, const Palette&, TaskRng&) {
  return PrimitiveParams{};
}

const std::vector<PrimitiveDef>& Registry() {
  static const auto* registry = new std::vector<PrimitiveDef>{
      {"mirror_x",
       {},
       NoParams,
       [](const Grid& g, const Args&) -> absl::StatusOr<Grid> { return MirrorX(g); }},
      {"mirror_y",
       {},
       NoParams,
       [](const Grid& g, const Args&) -> absl::StatusOr<Grid> { return MirrorY(g); }},
      {"rotate90",
       {{"k", 1}},
       [](const Grid&, const Palette&, TaskRng& rng) -> std::optional<PrimitiveParams> {
         return PrimitiveParams{{"k", static_cast<int>(rng.UniformInt(1, 3))}};
       },
       [](const Grid& g, const Args& a) -> absl::StatusOr<Grid> { return Rotate90(g, a[0]); }},
      {"translate",
       {{"dx", 0}, {"dy", 0}, {"fill", 0}},
       [](const Grid& g, const Palette& palette, TaskRng& rng) -> std::optional<PrimitiveParams> {
         const int mx = std::max(1, g.width / 2), my = std::max(1, g.height / 2);
         const int dx = static_cast<int>(rng.UniformInt(-mx, mx));
         const int dy = static_cast<int>(rng.UniformInt(-my, my));
         return PrimitiveParams{{"dx", dx}, {"dy", dy}, {"fill", rng.Choice(palette)}};
       },
       [](const Grid& g, const Args& a) -> absl::StatusOr<Grid> {
         return Translate(g, a[0], a[1], a[2]);
       }},
      {"recolor",
       {{"source", std::nullopt}, {"target", std::nullopt}},
       [](const Grid&, const Palette& palette, TaskRng& rng) -> std::optional<PrimitiveParams> {
         const std::vector<int> fg = Foreground(palette);
         if (fg.empty()) return std::nullopt;
         const int source = rng.Choice(fg);
         int target = rng.Choice(palette);
         if (target == source) target = DrawOther(palette, source, rng);
         return PrimitiveParams{{"source", source}, {"target", target}};
       },
       [](const Grid& g, const Args& a) -> absl::StatusOr<Grid> { return Recolor(g, a[0], a[1]); }},
      {"invert_palette",
       {},
       NoParams,
       [](const Grid& g, const Args&) -> absl::StatusOr<Grid> { return InvertPalette(g); }},
      {"threshold_gt",
       {{"threshold", std::nullopt}, {"low", 0}, {"high", 1}},
       [](const Grid&, const Palette& palette, TaskRng& rng) -> std::optional<PrimitiveParams> {
         const auto [lo_it, hi_it] = std::minmax_element(palette.begin(), palette.end());
         const int threshold = static_cast<int>(rng.UniformInt(*lo_it, *hi_it));
         const int low = rng.Choice(palette);
         const int high = rng.Choice(palette);
         return PrimitiveParams{{"threshold", threshold}, {"low", low}, {"high", high}};
       },
       [](const Grid& g, const Args& a) -> absl::StatusOr<Grid> {
         return ThresholdGt(g, a[0], a[1], a[2]);
       }},
      {"flood_fill",
       {{"y", std::nullopt}, {"x", std::nullopt}, {"fill", std::nullopt}},
       [](const Grid& g, const Palette& palette, TaskRng& rng) -> std::optional<PrimitiveParams> {
         const int y = static_cast<int>(rng.UniformInt(0, g.height - 1));
         const int x = static_cast<int>(rng.UniformInt(0, g.width - 1));
         return PrimitiveParams{{"y", y}, {"x", x}, {"fill", rng.Choice(palette)}};
       },
       [](const Grid& g, const Args& a) { return FloodFill(g, a[0], a[1], a[2]); }},
      {"extract_shape",
       {{"y", std::nullopt}, {"x", std::nullopt}, {"background", 0}},
       [](const Grid& g, const Palette& palette, TaskRng& rng) -> std::optional<PrimitiveParams> {
         const int y = static_cast<int>(rng.UniformInt(0, g.height - 1));
         const int x = static_cast<int>(rng.UniformInt(0, g.width - 1));
         return PrimitiveParams{{"y", y}, {"x", x}, {"background", rng.Choice(palette)}};
       },
       [](const Grid& g, const Args& a) { return ExtractShape(g, a[0], a[1], a[2]); }},
      {"merge_touching",
       {{"value_a", std::nullopt}, {"value_b", std::nullopt}, {"target", std::nullopt}},
       [](const Grid&, const Palette& palette, TaskRng& rng) -> std::optional<PrimitiveParams> {
         const std::vector<int> fg = Foreground(palette);
         if (fg.empty()) return std::nullopt;
         const int a = rng.Choice(fg);
         int b = rng.Choice(fg);
         if (b == a) b = DrawOther(palette, a, rng);  // may be the background (§1.2)
         const int target = rng.Choice(palette);
         return PrimitiveParams{{"value_a", a}, {"value_b", b}, {"target", target}};
       },
       [](const Grid& g, const Args& a) -> absl::StatusOr<Grid> {
         return MergeTouching(g, a[0], a[1], a[2]);
       }},
  };
  return *registry;
}

// Resolves keyword params against the declaration (defaults, missing, unknown) and applies.
absl::StatusOr<Grid> ApplyDef(const PrimitiveDef& def, const Grid& grid,
                              const PrimitiveParams& params) {
  for (const auto& entry : params) {
    // Not a structured binding: C++17 lambdas cannot capture those (clang refuses).
    const auto& key = entry.first;
    const bool known = std::any_of(def.params.begin(), def.params.end(),
                                   [&](const ParamSpec& p) { return key == p.name; });
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(def.name, ": unknown parameter '", key, "'"));
    }
  }
  Args args;
  args.reserve(def.params.size());
  for (const ParamSpec& spec : def.params) {
    const auto it = std::find_if(params.begin(), params.end(),
                                 [&](const auto& p) { return p.first == spec.name; });
    if (it != params.end()) {
      args.push_back(it->second);
    } else if (spec.default_value.has_value()) {
      args.push_back(*spec.default_value);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(def.name, ": missing parameter '", spec.name, "'"));
    }
  }
  return def.apply(grid, args);
}

std::vector<int> SamplePalette(const GeneratorConfig& config, TaskRng& rng) {
  // c counts the background; foreground colours are the low ids after it, shuffled (§1.2).
  const int c = static_cast<int>(rng.UniformInt(config.min_colors(), config.max_colors()));
  std::vector<int> fg;
  for (int i = 1; i < c; ++i) fg.push_back(config.background() + i);
  rng.Shuffle(fg);
  std::vector<int> palette = {config.background()};
  palette.insert(palette.end(), fg.begin(), fg.end());
  return palette;
}

Grid SampleInput(const GeneratorConfig& config, const std::vector<int>& palette, TaskRng& rng) {
  const int h = static_cast<int>(rng.UniformInt(config.min_grid_size(), config.max_grid_size()));
  const int w = static_cast<int>(rng.UniformInt(config.min_grid_size(), config.max_grid_size()));
  Grid grid(h, w, config.background());
  for (int& cell : grid.cells) {
    if (rng.Bernoulli(config.fill_probability())) cell = rng.Choice(palette);
  }
  return grid;
}

// One attempt at a task (§1.2): each step draws one primitive uniformly with replacement, then
// re-samples its parameters up to max_parameter_retries times, rejecting errors and no-op
// results; nullopt when a step finds none or the final output equals the input.
std::optional<Task> TryTask(const GeneratorConfig& config, bool sequential, TaskRng& rng) {
  Task task;
  task.palette = SamplePalette(config, rng);
  task.input = SampleInput(config, task.palette, rng);
  const int length = sequential ? static_cast<int>(rng.UniformInt(2, 3)) : 1;
  Grid current = task.input;
  for (int step = 0; step < length; ++step) {
    const PrimitiveDef& def = rng.Choice(Registry());
    bool applied = false;
    for (int attempt = 0; attempt < config.max_parameter_retries() && !applied; ++attempt) {
      std::optional<PrimitiveParams> params = def.sample(current, task.palette, rng);
      if (!params.has_value()) continue;
      absl::StatusOr<Grid> result = ApplyDef(def, current, *params);
      if (!result.ok() || *result == current) continue;  // reject errors and no-ops
      current = *std::move(result);
      task.program.push_back({def.name, *std::move(params)});
      applied = true;
    }
    if (!applied) return std::nullopt;
  }
  if (current == task.input) return std::nullopt;
  task.output = std::move(current);
  return task;
}

}  // namespace

const std::vector<std::string>& PrimitiveNames() {
  static const auto* names = [] {
    auto* out = new std::vector<std::string>;
    for (const PrimitiveDef& def : Registry()) out->push_back(def.name);
    return out;
  }();
  return *names;
}

absl::StatusOr<Grid> ApplyPrimitive(absl::string_view name, const Grid& grid,
                                    const PrimitiveParams& params) {
  for (const PrimitiveDef& def : Registry()) {
    if (name == def.name) return ApplyDef(def, grid, params);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown primitive '", name, "'"));
}

absl::Status ValidateGeneratorConfig(const GeneratorConfig& config) {
  auto bad = [](absl::string_view field, absl::string_view rule, auto value) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.generator.", field, ": ", rule, ", got ", value));
  };
  if (config.num_atomic() < 0) return bad("num_atomic", "must be >= 0", config.num_atomic());
  if (config.num_sequential() < 0) {
    return bad("num_sequential", "must be >= 0", config.num_sequential());
  }
  if (static_cast<int64_t>(config.num_atomic()) + config.num_sequential() < 1) {
    return absl::InvalidArgumentError(
        "data.generator: num_atomic + num_sequential must be >= 1, got 0");
  }
  if (config.min_grid_size() < 1) {
    return bad("min_grid_size", "must be >= 1", config.min_grid_size());
  }
  if (config.max_grid_size() < config.min_grid_size()) {
    return bad("max_grid_size", "must be >= min_grid_size", config.max_grid_size());
  }
  if (config.min_colors() < 1) return bad("min_colors", "must be >= 1", config.min_colors());
  if (config.max_colors() < config.min_colors()) {
    return bad("max_colors", "must be >= min_colors", config.max_colors());
  }
  if (config.background() < 0) return bad("background", "must be >= 0", config.background());
  if (!(config.fill_probability() >= 0 && config.fill_probability() <= 1)) {
    return bad("fill_probability", "must be in [0, 1]", config.fill_probability());
  }
  if (config.max_parameter_retries() < 1) {
    return bad("max_parameter_retries", "must be >= 1", config.max_parameter_retries());
  }
  if (config.max_task_retries() < 1) {
    return bad("max_task_retries", "must be >= 1", config.max_task_retries());
  }
  return absl::OkStatus();
}

std::optional<Task> GenerateTask(const GeneratorConfig& config, int64_t index) {
  const bool sequential = index >= config.num_atomic();
  // An own stream per task index: task i never depends on how many draws task i-1 needed, so
  // threads can generate any subset in any order.
  TaskRng rng(MixSeed(static_cast<uint64_t>(config.seed()), static_cast<uint64_t>(index)));
  for (int attempt = 0; attempt < config.max_task_retries(); ++attempt) {
    std::optional<Task> task = TryTask(config, sequential, rng);
    if (!task.has_value()) continue;
    task->id = absl::StrFormat("%s_%06d", sequential ? "sequential" : "atomic", index);
    return task;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<Task>> GenerateTasks(const GeneratorConfig& config, int num_threads) {
  if (absl::Status status = ValidateGeneratorConfig(config); !status.ok()) return status;
  const int64_t total = static_cast<int64_t>(config.num_atomic()) + config.num_sequential();
  std::vector<std::optional<Task>> slots(static_cast<size_t>(total));
  if (num_threads <= 0)
    num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  num_threads = static_cast<int>(std::min<int64_t>(num_threads, total));
  if (num_threads <= 1) {
    for (int64_t i = 0; i < total; ++i) slots[static_cast<size_t>(i)] = GenerateTask(config, i);
  } else {
    // Workers claim chunks of indices; each slot is written by exactly one worker.
    constexpr int64_t kChunk = 64;
    std::atomic<int64_t> next{0};
    auto work = [&] {
      for (int64_t begin = next.fetch_add(kChunk); begin < total; begin = next.fetch_add(kChunk)) {
        const int64_t end = std::min(total, begin + kChunk);
        for (int64_t i = begin; i < end; ++i)
          slots[static_cast<size_t>(i)] = GenerateTask(config, i);
      }
    };
    std::vector<std::thread> workers;
    workers.reserve(static_cast<size_t>(num_threads));
    for (int t = 0; t < num_threads; ++t) workers.emplace_back(work);
    for (std::thread& w : workers) w.join();
  }
  std::vector<Task> tasks;
  tasks.reserve(static_cast<size_t>(total));
  for (std::optional<Task>& slot : slots) {
    if (slot.has_value()) tasks.push_back(*std::move(slot));
  }
  if (tasks.empty())
    return absl::InvalidArgumentError("data.generator: no task could be generated");
  return tasks;
}

}  // namespace jepalab::trainer
