// Grid augmentations of reference §1.6 (raw-manifest path): palette permutation, masking,
// random shift ("crop"), Gaussian value noise, the 8 geometric transforms and object dropout,
// applied in the reference's order with one seeded stream per sample. Torch-free.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_AUGMENTATIONS_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_AUGMENTATIONS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "proto/config/trainer_config.pb.h"
#include "trainer_service/core/data/grid_generator.h"
#include "trainer_service/core/data/grid_sample.h"

namespace jepalab::trainer {

// InvalidArgument naming the field (augmentations.mask_ratio: must be in [0, 1], ...).
absl::Status ValidateAugmentationsConfig(const config::v1::AugmentationsConfig& config);

// True when some augmentation would change a grid.
bool AugmentationsEnabled(const config::v1::AugmentationsConfig& config);

// Applies every enabled augmentation to one grid, in the reference order: (1) palette
// permutation, (2) mask_ratio, (3) random_crop_radius shift (only if min(H, W) >=
// min_grid_size_for_crop), (4) gaussian_noise_std, (5) geometric_augmentation, (6)
// object_dropout. `rng` advances by the draws made.
void AugmentGrid(const config::v1::AugmentationsConfig& config, int background, TaskRng& rng,
                 Grid* grid);

// Augments each context frame, then the target, independently (§1.6), from one stream seeded by
// MixSeed(seed, index): the same (seed, index) always gives the same result. Python seeds
// random.Random(seed + worker_seed + index), whose draws we do not reproduce.
void AugmentSample(const config::v1::AugmentationsConfig& config, int background, uint64_t seed,
                   int64_t index, GridSample* sample);

// The individual steps, for tests.
// Shuffles the non-background colours present in the grid among themselves.
void PermutePalette(int background, TaskRng& rng, Grid* grid);
// Each non-background cell becomes background with probability `ratio`.
void MaskCells(double ratio, int background, TaskRng& rng, Grid* grid);
// Translation by (dy, dx) ~ U{-radius..radius}^2 with background fill (the reference's "crop").
void RandomShift(int radius, int background, TaskRng& rng, Grid* grid);
// Each non-background cell: v + N(0, std), rounded half to even, clamped to
// [background, max_value].
void AddValueNoise(double std, int background, int max_value, TaskRng& rng, Grid* grid);
// Geometric transform `index` in 0..7: none, rot90, rot180, rot270, flip_h, flip_v,
// rot90+flip_h, rot90+flip_v. rot90 is counter-clockwise (numpy's rot90), flip_h reverses each
// row (fliplr), flip_v reverses the row order (flipud).
Grid GeometricTransform(const Grid& grid, int index);
// Each 4-connected same-colour non-background component (in raster order of its first cell)
// is erased to background with probability p.
void DropObjects(double p, int background, TaskRng& rng, Grid* grid);
// A standard normal draw (Box-Muller on two TaskRng doubles).
double StandardNormal(TaskRng& rng);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_AUGMENTATIONS_H_
