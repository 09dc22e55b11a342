// Benchmark: trains a config in-process (no services) and prints steps/s, the figure the
// foundation issue tracks for the mini config. Usage:
//   bazel run -c opt //bench:train_mini_bench -- [CONFIG.yaml] [key=value ...]
// With JEPALAB_TORCH_PROFILE=FILE set, the run records every ATen op into a chrome trace at
// FILE (torch's legacy profiler; bench/profile_summary.py turns it into self-time per op).
#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/logging.h"
#include "common/metric_names.h"
#include "config/trainer_config.h"
#include "trainer_service/core/trainer.h"

namespace {

// Keeps the last value of the total loss; counts reported steps.
class LastLossSink : public jepalab::trainer::MetricsSink {
 public:
  void Report(int64_t step, int32_t, const jepalab::trainer::MetricValues& values) override {
    for (const auto& [name, value] : values) {
      if (name == jepalab::metric_names::kLossTotal) last_loss = value;
      if (name == jepalab::metric_names::kValLoss) last_val_loss = value;
    }
    last_step = step;
  }
  void Flush() override {}
  double last_loss = 0, last_val_loss = 0;
  int64_t last_step = 0;
};

}  // namespace

int main(int argc, char** argv) {
  jepalab::common::InitLogging(argv[0]);
  std::string config_path = "configs/training/jepa_pretrain_a6000_mini.yaml";
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.find('=') != std::string::npos) {
      overrides.push_back(arg);
    } else {
      config_path = arg;
    }
  }
  // `bazel run` starts in the runfiles tree; BUILD_WORKSPACE_DIRECTORY is the source tree.
  if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
      workspace && config_path[0] != '/') {
    config_path = std::string(workspace) + "/" + config_path;
  }
  auto config = jepalab::config::LoadTrainerConfigFile(config_path, overrides);
  if (!config.ok()) {
    std::fprintf(stderr, "train_mini_bench: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  LastLossSink sink;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  if (const char* path = std::getenv("JEPALAB_TORCH_PROFILE"); path != nullptr && *path != '\0') {
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(std::string(path));
  }
  const auto start = std::chrono::steady_clock::now();
  auto outcome = jepalab::trainer::RunTraining(*config, {"bench"}, &sink, nullptr, nullptr);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  profile.reset();  // writes the trace
  if (!outcome.ok()) {
    std::fprintf(stderr, "train_mini_bench: %s\n", std::string(outcome.status().message()).c_str());
    return 1;
  }
  std::printf("config            %s\n", config_path.c_str());
  std::printf("device            %s\n", outcome->device.c_str());
  std::printf("optimizer steps   %lld (%d epochs)\n", static_cast<long long>(outcome->steps),
              outcome->epochs);
  std::printf("wall time         %.2f s (data generation and validation included)\n", seconds);
  std::printf("steps/s           %.2f\n", outcome->steps / seconds);
  const auto& t = outcome->timings;
  std::printf("train loop        %.2f s (validation %.2f s excluded)\n", t.train, t.validation);
  std::printf("train samples/s   %.1f (%lld samples)\n",
              t.train > 0 ? t.train_samples / t.train : 0.0,
              static_cast<long long>(t.train_samples));
  auto share = [&](double v) { return t.train > 0 ? 100.0 * v / t.train : 0.0; };
  std::printf("  data wait       %.3f s (%.1f%%)\n", t.data_wait, share(t.data_wait));
  std::printf("  forward         %.3f s (%.1f%%)\n", t.forward, share(t.forward));
  std::printf("  backward        %.3f s (%.1f%%)\n", t.backward, share(t.backward));
  std::printf("  optimizer       %.3f s (%.1f%%)\n", t.optimizer, share(t.optimizer));
  std::printf("  diagnostics     %.3f s (%.1f%%)\n", t.diagnostics, share(t.diagnostics));
  std::printf("final train loss  %.4f\n", sink.last_loss);
  std::printf("final val loss    %.4f\n", sink.last_val_loss);
  return 0;
}
