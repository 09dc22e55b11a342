#include "trainer_service/core/data/training_samples.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "trainer_service/core/data/arc_loader.h"
#include "trainer_service/core/data/grid_generator.h"
#include "trainer_service/core/data/manifest.h"
#include "trainer_service/core/data/token_batch.h"

namespace jepalab::trainer {

absl::StatusOr<TrainingSamples> LoadTrainingSamples(const config::v1::TrainerConfig& config,
                                                    int num_threads) {
  const int window = config.data().context_window();
  TrainingSamples out;
  if (config.pre_tokenized().has_path()) {
    return absl::UnimplementedError(
        "pre_tokenized.path: pre-tokenised shards are not supported; use dataset_manifest (JSONL "
        "or an ARC task directory) or the built-in generator");
  }
  if (config.has_dataset_manifest()) {
    const std::string& path = config.dataset_manifest();
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      JEPALAB_ASSIGN_OR_RETURN(std::vector<ArcTask> tasks,
                               LoadArcTaskDir(path, ArcLoaderOptions{}));
      out.samples = ArcTasksToSamples(tasks, "arc", window, /*include_test=*/true);
      out.source = absl::StrCat("ARC directory ", path, " (", tasks.size(), " tasks)");
    } else {
      ManifestOptions options;
      options.context_window = window;
      options.target_offset = config.data().target_offset();
      JEPALAB_ASSIGN_OR_RETURN(out.samples, LoadManifestFile(path, options));
      out.source = absl::StrCat("manifest ", path);
    }
    if (out.samples.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dataset_manifest: ", path, " holds no sample"));
    }
    return out;
  }
  JEPALAB_ASSIGN_OR_RETURN(std::vector<Task> tasks,
                           GenerateTasks(config.data().generator(), num_threads));
  out.samples = SamplesFromTasks(tasks, window);
  out.source = absl::StrCat("generator (", tasks.size(), " tasks)");
  return out;
}

}  // namespace jepalab::trainer
