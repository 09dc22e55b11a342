#include "trainer_service/core/data/grid_generator.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace jepalab::trainer {

int64_t TaskRng::UniformInt(int64_t lo, int64_t hi) {
  const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
  if (range == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
  // Rejection sampling: accept draws below the largest multiple of `range`, so every value is
  // equally likely and the algorithm is fixed (unlike std::uniform_int_distribution).
  const uint64_t limit = std::numeric_limits<uint64_t>::max() -
                         std::numeric_limits<uint64_t>::max() % range;
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

namespace {

using config::v1::GeneratorConfig;

int MostCommonValue(const Grid& g) {
  std::map<int, int> counts;
  for (int c : g.cells) ++counts[c];
  int best = g.cells.empty() ? 0 : g.cells[0], best_count = -1;
  for (const auto& [value, count] : counts) {  // ties: the smallest value
    if (count > best_count) best = value, best_count = count;
  }
  return best;
}

// Cells reachable from (y, x) through 4-neighbours satisfying `inside`.
std::vector<std::pair<int, int>> Component(const Grid& g, int y0, int x0,
                                           const std::function<bool(int)>& inside) {
  std::vector<std::pair<int, int>> out;
  std::vector<char> seen(g.cells.size(), 0);
  std::vector<std::pair<int, int>> stack = {{y0, x0}};
  seen[static_cast<size_t>(y0) * g.width + x0] = 1;
  while (!stack.empty()) {
    auto [y, x] = stack.back();
    stack.pop_back();
    out.push_back({y, x});
    const int dy[] = {-1, 1, 0, 0}, dx[] = {0, 0, -1, 1};
    for (int d = 0; d < 4; ++d) {
      const int ny = y + dy[d], nx = x + dx[d];
      if (ny < 0 || ny >= g.height || nx < 0 || nx >= g.width) continue;
      const size_t idx = static_cast<size_t>(ny) * g.width + nx;
      if (seen[idx] || !inside(g.at(ny, nx))) continue;
      seen[idx] = 1;
      stack.push_back({ny, nx});
    }
  }
  return out;
}

struct Sampled {
  Grid grid;
  std::string params;
};

// A primitive samples its parameters from (grid, palette) and applies them (reference §1.2 table).
using Primitive = std::function<std::optional<Sampled>(const Grid&, const std::vector<int>&, TaskRng&)>;

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

const std::vector<std::pair<std::string, Primitive>>& Registry() {
  static const auto* registry = new std::vector<std::pair<std::string, Primitive>>{
      {"mirror_x", [](const Grid& g, const std::vector<int>&, TaskRng&) -> std::optional<Sampled> {
         return Sampled{MirrorX(g), ""};
       }},
      {"mirror_y", [](const Grid& g, const std::vector<int>&, TaskRng&) -> std::optional<Sampled> {
         return Sampled{MirrorY(g), ""};
       }},
      {"rotate90", [](const Grid& g, const std::vector<int>&, TaskRng& rng) -> std::optional<Sampled> {
         const int k = static_cast<int>(rng.UniformInt(1, 3));
         return Sampled{Rotate90(g, k), absl::StrCat("k=", k)};
       }},
      {"translate", [](const Grid& g, const std::vector<int>& palette, TaskRng& rng) -> std::optional<Sampled> {
         const int mx = std::max(1, g.width / 2), my = std::max(1, g.height / 2);
         const int dx = static_cast<int>(rng.UniformInt(-mx, mx));
         const int dy = static_cast<int>(rng.UniformInt(-my, my));
         const int fill = rng.Choice(palette);
         return Sampled{Translate(g, dx, dy, fill), absl::StrCat("dx=", dx, " dy=", dy, " fill=", fill)};
       }},
      {"recolor", [](const Grid& g, const std::vector<int>& palette, TaskRng& rng) -> std::optional<Sampled> {
         const std::vector<int> fg = Foreground(palette);
         if (fg.empty()) return std::nullopt;
         const int source = rng.Choice(fg);
         int target = rng.Choice(palette);
         if (target == source) target = DrawOther(palette, source, rng);
         return Sampled{Recolor(g, source, target), absl::StrCat("source=", source, " target=", target)};
       }},
      {"invert_palette", [](const Grid& g, const std::vector<int>&, TaskRng&) -> std::optional<Sampled> {
         return Sampled{InvertPalette(g), ""};
       }},
      {"threshold_gt", [](const Grid& g, const std::vector<int>& palette, TaskRng& rng) -> std::optional<Sampled> {
         const auto [lo_it, hi_it] = std::minmax_element(palette.begin(), palette.end());
         const int threshold = static_cast<int>(rng.UniformInt(*lo_it, *hi_it));
         const int low = rng.Choice(palette), high = rng.Choice(palette);
         Grid out = g;
         for (int& c : out.cells) c = c > threshold ? high : low;
         return Sampled{std::move(out), absl::StrCat("threshold=", threshold, " low=", low, " high=", high)};
       }},
      {"flood_fill", [](const Grid& g, const std::vector<int>& palette, TaskRng& rng) -> std::optional<Sampled> {
         const int y = static_cast<int>(rng.UniformInt(0, g.height - 1));
         const int x = static_cast<int>(rng.UniformInt(0, g.width - 1));
         const int fill = rng.Choice(palette);
         const int seed_value = g.at(y, x);
         Grid out = g;
         for (auto [cy, cx] : Component(g, y, x, [&](int v) { return v == seed_value; })) out.at(cy, cx) = fill;
         return Sampled{std::move(out), absl::StrCat("y=", y, " x=", x, " fill=", fill)};
       }},
      {"extract_shape", [](const Grid& g, const std::vector<int>& palette, TaskRng& rng) -> std::optional<Sampled> {
         const int y = static_cast<int>(rng.UniformInt(0, g.height - 1));
         const int x = static_cast<int>(rng.UniformInt(0, g.width - 1));
         const int background = rng.Choice(palette);
         const std::string params = absl::StrCat("y=", y, " x=", x, " background=", background);
         const int common = MostCommonValue(g);
         if (g.at(y, x) == common) return Sampled{Grid(1, 1, background), params};
         const auto cells = Component(g, y, x, [&](int v) { return v != common; });
         int y0 = g.height, y1 = -1, x0 = g.width, x1 = -1;
         for (auto [cy, cx] : cells) {
           y0 = std::min(y0, cy), y1 = std::max(y1, cy), x0 = std::min(x0, cx), x1 = std::max(x1, cx);
         }
         Grid out(y1 - y0 + 1, x1 - x0 + 1, background);
         for (auto [cy, cx] : cells) out.at(cy - y0, cx - x0) = g.at(cy, cx);
         return Sampled{std::move(out), params};
       }},
      {"merge_touching", [](const Grid& g, const std::vector<int>& palette, TaskRng& rng) -> std::optional<Sampled> {
         const std::vector<int> fg = Foreground(palette);
         if (fg.empty()) return std::nullopt;
         const int a = rng.Choice(fg);
         int b = rng.Choice(fg);
         if (b == a) b = DrawOther(palette, a, rng);
         const int target = rng.Choice(palette);
         Grid out = g;
         // 8-neighbour a/b pairs, judged on the input grid, both become `target`.
         for (int y = 0; y < g.height; ++y) {
           for (int x = 0; x < g.width; ++x) {
             const int v = g.at(y, x);
             if (v != a && v != b) continue;
             const int other = v == a ? b : a;
             for (int dy = -1; dy <= 1; ++dy) {
               for (int dx = -1; dx <= 1; ++dx) {
                 const int ny = y + dy, nx = x + dx;
                 if ((dy || dx) && ny >= 0 && ny < g.height && nx >= 0 && nx < g.width &&
                     g.at(ny, nx) == other) {
                   out.at(y, x) = target;
                 }
               }
             }
           }
         }
         return Sampled{std::move(out), absl::StrCat("value_a=", a, " value_b=", b, " target=", target)};
       }},
  };
  return *registry;
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

// One attempt at a task; nullopt when a step finds no non-no-op parameters or output == input.
std::optional<Task> TryTask(const GeneratorConfig& config, bool sequential, TaskRng& rng) {
  Task task;
  task.palette = SamplePalette(config, rng);
  task.input = SampleInput(config, task.palette, rng);
  const int length = sequential ? static_cast<int>(rng.UniformInt(2, 3)) : 1;
  Grid current = task.input;
  for (int step = 0; step < length; ++step) {
    const auto& [name, primitive] = rng.Choice(Registry());
    bool applied = false;
    for (int attempt = 0; attempt < config.max_parameter_retries() && !applied; ++attempt) {
      std::optional<Sampled> result = primitive(current, task.palette, rng);
      if (!result.has_value() || result->grid == current) continue;  // reject no-ops
      current = std::move(result->grid);
      task.program.push_back({name, std::move(result->params)});
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
    for (const auto& entry : Registry()) out->push_back(entry.first);
    return out;
  }();
  return *names;
}

absl::StatusOr<std::vector<Task>> GenerateTasks(const GeneratorConfig& config) {
  const int64_t total = static_cast<int64_t>(config.num_atomic()) + config.num_sequential();
  if (total < 1) {
    return absl::InvalidArgumentError("data.generator: num_atomic + num_sequential must be >= 1");
  }
  std::vector<Task> tasks;
  tasks.reserve(static_cast<size_t>(total));
  for (int64_t index = 0; index < total; ++index) {
    const bool sequential = index >= config.num_atomic();
    // An own stream per task index: task i never depends on how many draws task i-1 needed.
    TaskRng rng(MixSeed(static_cast<uint64_t>(config.seed()), static_cast<uint64_t>(index)));
    for (int attempt = 0; attempt < config.max_task_retries(); ++attempt) {
      std::optional<Task> task = TryTask(config, sequential, rng);
      if (!task.has_value()) continue;
      task->id = absl::StrFormat("%s_%06d", sequential ? "sequential" : "atomic", index);
      tasks.push_back(std::move(*task));
      break;
    }
  }
  if (tasks.empty()) return absl::InvalidArgumentError("data.generator: no task could be generated");
  return tasks;
}

}  // namespace jepalab::trainer
