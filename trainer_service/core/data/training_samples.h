// The samples a run trains on (reference §1): `dataset_manifest` when set (a JSONL manifest, or
// a directory of ARC task files, train and test pairs as input/output samples), otherwise the
// built-in generator's input/output tasks. Torch-free.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_TRAINING_SAMPLES_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_TRAINING_SAMPLES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/config/trainer_config.pb.h"
#include "trainer_service/core/data/grid_sample.h"

namespace jepalab::trainer {

struct TrainingSamples {
  std::vector<GridSample> samples;  // each with exactly data.context_window context grids
  std::string source;  // for log lines: "generator (2000 tasks)", the manifest path, ...
};

// Unimplemented for pre_tokenized.path; the loaders' errors (naming file, line and field)
// otherwise. `num_threads` is the generator's thread count.
absl::StatusOr<TrainingSamples> LoadTrainingSamples(const config::v1::TrainerConfig& config,
                                                    int num_threads);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_TRAINING_SAMPLES_H_
