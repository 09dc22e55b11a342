#include "trainer_service/core/data/augmentations.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace jepalab::trainer {

using config::v1::AugmentationsConfig;

absl::Status ValidateAugmentationsConfig(const AugmentationsConfig& config) {
  auto probability = [](absl::string_view field, double value) -> absl::Status {
    if (value >= 0 && value <= 1) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("augmentations.", field, ": must be in [0, 1], got ", value));
  };
  if (absl::Status s = probability("mask_ratio", config.mask_ratio()); !s.ok()) return s;
  if (absl::Status s = probability("object_dropout", config.object_dropout()); !s.ok()) return s;
  if (config.random_crop_radius() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentations.random_crop_radius: must be >= 0, got ", config.random_crop_radius()));
  }
  if (!(config.gaussian_noise_std() >= 0) || !std::isfinite(config.gaussian_noise_std())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentations.gaussian_noise_std: must be >= 0, got ", config.gaussian_noise_std()));
  }
  if (config.min_grid_size_for_crop() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("augmentations.min_grid_size_for_crop: must be >= 0, got ",
                     config.min_grid_size_for_crop()));
  }
  return absl::OkStatus();
}

bool AugmentationsEnabled(const AugmentationsConfig& config) {
  return config.palette_permutation() || config.mask_ratio() > 0 ||
         config.random_crop_radius() > 0 || config.gaussian_noise_std() > 0 ||
         config.geometric_augmentation() || config.object_dropout() > 0;
}

double StandardNormal(TaskRng& rng) {
  const double u1 = 1.0 - rng.UniformDouble();  // (0, 1]
  const double u2 = rng.UniformDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

void PermutePalette(int background, TaskRng& rng, Grid* grid) {
  std::vector<int> present;
  for (int c : grid->cells) {
    if (c != background) present.push_back(c);
  }
  std::sort(present.begin(), present.end());
  present.erase(std::unique(present.begin(), present.end()), present.end());
  if (present.size() < 2) return;
  std::vector<int> shuffled = present;
  rng.Shuffle(shuffled);
  for (int& c : grid->cells) {
    if (c == background) continue;
    c = shuffled[static_cast<size_t>(std::lower_bound(present.begin(), present.end(), c) -
                                     present.begin())];
  }
}

void MaskCells(double ratio, int background, TaskRng& rng, Grid* grid) {
  for (int& c : grid->cells) {
    if (c != background && rng.Bernoulli(ratio)) c = background;
  }
}

void RandomShift(int radius, int background, TaskRng& rng, Grid* grid) {
  const int dy = static_cast<int>(rng.UniformInt(-radius, radius));
  const int dx = static_cast<int>(rng.UniformInt(-radius, radius));
  *grid = Translate(*grid, dx, dy, background);
}

void AddValueNoise(double std, int background, int max_value, TaskRng& rng, Grid* grid) {
  for (int& c : grid->cells) {
    if (c == background) continue;
    const double noisy = std::nearbyint(c + std * StandardNormal(rng));  // Python round()
    c = static_cast<int>(std::clamp(noisy, static_cast<double>(background),
                                    static_cast<double>(std::max(background, max_value))));
  }
}

Grid GeometricTransform(const Grid& grid, int index) {
  switch (index) {
    case 0:
      return grid;
    case 1:
      return Rotate90(grid, 3);  // numpy rot90: counter-clockwise = 3 clockwise turns
    case 2:
      return Rotate90(grid, 2);
    case 3:
      return Rotate90(grid, 1);
    case 4:
      return MirrorY(grid);  // flip_h: reverse each row
    case 5:
      return MirrorX(grid);  // flip_v: reverse the row order
    case 6:
      return MirrorY(Rotate90(grid, 3));
    case 7:
      return MirrorX(Rotate90(grid, 3));
    default:
      return grid;
  }
}

void DropObjects(double p, int background, TaskRng& rng, Grid* grid) {
  const int h = grid->height, w = grid->width;
  std::vector<char> seen(grid->cells.size(), 0);
  std::vector<int> component;
  for (int start = 0; start < h * w; ++start) {
    const int colour = grid->cells[static_cast<size_t>(start)];
    if (seen[static_cast<size_t>(start)] || colour == background) continue;
    component.assign(1, start);
    seen[static_cast<size_t>(start)] = 1;
    for (size_t head = 0; head < component.size(); ++head) {
      const int y = component[head] / w, x = component[head] % w;
      const int neighbours[4][2] = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
      for (const auto& [ny, nx] : neighbours) {
        if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
        const int n = ny * w + nx;
        if (seen[static_cast<size_t>(n)] || grid->cells[static_cast<size_t>(n)] != colour) continue;
        seen[static_cast<size_t>(n)] = 1;
        component.push_back(n);
      }
    }
    // Erasing does not affect later components: they are found through `seen`, and an erased
    // cell (now background) is never a start cell again.
    if (rng.Bernoulli(p)) {
      for (int cell : component) grid->cells[static_cast<size_t>(cell)] = background;
    }
  }
}

void AugmentGrid(const AugmentationsConfig& config, int background, TaskRng& rng, Grid* grid) {
  if (grid->cells.empty()) return;
  const int original_max = *std::max_element(grid->cells.begin(), grid->cells.end());
  if (config.palette_permutation()) PermutePalette(background, rng, grid);
  if (config.mask_ratio() > 0) MaskCells(config.mask_ratio(), background, rng, grid);
  if (config.random_crop_radius() > 0 &&
      std::min(grid->height, grid->width) >= config.min_grid_size_for_crop()) {
    RandomShift(config.random_crop_radius(), background, rng, grid);
  }
  if (config.gaussian_noise_std() > 0) {
    AddValueNoise(config.gaussian_noise_std(), background, original_max, rng, grid);
  }
  if (config.geometric_augmentation()) {
    *grid = GeometricTransform(*grid, static_cast<int>(rng.UniformInt(0, 7)));
  }
  if (config.object_dropout() > 0) DropObjects(config.object_dropout(), background, rng, grid);
}

void AugmentSample(const AugmentationsConfig& config, int background, uint64_t seed, int64_t index,
                   GridSample* sample) {
  if (!AugmentationsEnabled(config)) return;
  TaskRng rng(MixSeed(seed, static_cast<uint64_t>(index)));
  for (Grid& frame : sample->context) AugmentGrid(config, background, rng, &frame);
  AugmentGrid(config, background, rng, &sample->target);
}

}  // namespace jepalab::trainer
