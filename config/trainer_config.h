// Loading and validating a run's TrainerConfig (torch-free; the scheduler validates with it
// too, before anything is queued).
#ifndef JEPALAB_CONFIG_TRAINER_CONFIG_H_
#define JEPALAB_CONFIG_TRAINER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config/trainer_config.pb.h"

namespace jepalab::config {

using ::jepalab::config::v1::TrainerConfig;

// Parses YAML text, applies "dotted.key=value" overrides in order, validates. Every error is
// InvalidArgument naming the key path and, where known, "<source_name>:<line>".
absl::StatusOr<TrainerConfig> LoadTrainerConfig(absl::string_view yaml_text,
                                                absl::string_view source_name,
                                                const std::vector<std::string>& overrides = {});

// Reads `path` and calls LoadTrainerConfig. NotFound if the file cannot be read.
absl::StatusOr<TrainerConfig> LoadTrainerConfigFile(const std::string& path,
                                                    const std::vector<std::string>& overrides = {});

// Checks every value against its allowed range. The first violation is returned as
// InvalidArgument "<key path>: <rule>, got <value>", e.g. "optimizer.lr: must be > 0, got -0.1".
absl::Status ValidateTrainerConfig(const TrainerConfig& config);

// Every field written out, defaults included: what the run really used.
std::string ResolvedConfigYaml(const TrainerConfig& config);

// sha256 hex of ResolvedConfigYaml(config): equal configs, equal hashes.
std::string ConfigHash(const TrainerConfig& config);

// Optimizer steps of a run: ceil(batches_per_epoch / grad_accum_steps) * epochs (reference
// §1.5), capped by training.max_steps when that is set.
// It is also the horizon of the LR schedule.
int64_t PlannedOptimizerSteps(const TrainerConfig& config, int64_t batches_per_epoch);

// The last epoch a run trains: training.stop_after_epochs when set, else training.epochs.
int32_t LastEpoch(const TrainerConfig& config);

// Optimizer steps a run takes: PlannedOptimizerSteps, ended after LastEpoch.
int64_t OptimizerStepsToRun(const TrainerConfig& config, int64_t batches_per_epoch);

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_TRAINER_CONFIG_H_
