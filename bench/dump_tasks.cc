// Writes the tasks a training config's built-in generator produces as a JSONL manifest, one
// {"id", "input", "output"} record per task (reference §1.2 record shape, rule_trace/metadata
// left out), so that another trainer (bench/reference/jepa_mini.py) and the C++ trainer itself
// (`dataset_manifest=FILE`) train on identical grids. Usage:
//   bazel run -c opt //bench:dump_tasks -- CONFIG.yaml OUT.jsonl [key=value ...]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/trainer_config.h"
#include "nlohmann/json.hpp"
#include "trainer_service/core/data/grid_generator.h"
#include "trainer_service/core/data/grid_json.h"

int main(int argc, char** argv) {
  std::vector<std::string> positional, overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    (arg.find('=') != std::string::npos ? overrides : positional).push_back(arg);
  }
  if (positional.size() != 2) {
    std::fprintf(stderr, "usage: dump_tasks CONFIG.yaml OUT.jsonl [key=value ...]\n");
    return 2;
  }
  // `bazel run` starts in the runfiles tree; BUILD_WORKSPACE_DIRECTORY is the source tree.
  if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    for (std::string& p : positional) {
      if (!p.empty() && p[0] != '/') p = std::string(workspace) + "/" + p;
    }
  }
  auto config = jepalab::config::LoadTrainerConfigFile(positional[0], overrides);
  if (!config.ok()) {
    std::fprintf(stderr, "dump_tasks: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  auto tasks = jepalab::trainer::GenerateTasks(config->data().generator(), /*num_threads=*/0);
  if (!tasks.ok()) {
    std::fprintf(stderr, "dump_tasks: %s\n", std::string(tasks.status().message()).c_str());
    return 1;
  }
  std::ofstream out(positional[1], std::ios::trunc);
  if (!out) {
    std::fprintf(stderr, "dump_tasks: cannot write %s\n", positional[1].c_str());
    return 1;
  }
  for (const auto& task : *tasks) {
    nlohmann::json record = {{"id", task.id},
                             {"input", jepalab::trainer::GridToJson(task.input)},
                             {"output", jepalab::trainer::GridToJson(task.output)}};
    out << record.dump() << '\n';
  }
  out.close();
  if (!out) {
    std::fprintf(stderr, "dump_tasks: write to %s failed\n", positional[1].c_str());
    return 1;
  }
  std::printf("%zu tasks -> %s\n", tasks->size(), positional[1].c_str());
  return 0;
}
