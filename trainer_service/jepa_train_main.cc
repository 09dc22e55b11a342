// jepa_train: one training run in this process, no services — for debugging a config and for
// benchmarks. Same core as trainer_service.
//   jepa_train CONFIG.yaml [key=value ...] [--metrics_address=HOST:PORT] [--run_id=ID]
//              [--metrics_csv=FILE]
// Progress goes to stderr; the final summary to stdout. Ctrl-C cancels cleanly (CANCELLED).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/metric_names.h"
#include "config/trainer_config.h"
#include "proto/common.pb.h"
#include "trainer_service/core/trainer.h"
#include "trainer_service/server/grpc_metrics_sink.h"

ABSL_FLAG(std::string, metrics_address, "", "also report metrics to metrics_service at host:port");
ABSL_FLAG(std::string, metrics_csv, "",
          "also write every metric point to FILE as CSV (step,epoch,name,value), e.g. to record "
          "a history for tests");
ABSL_FLAG(std::string, run_id, "jepa_train", "run id (for logs and metrics_service)");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "where checkpoints go; empty: training.checkpoint_dir, or none");
ABSL_FLAG(std::string, resume_from, "",
          "a checkpoint of a run with the same config to continue from");

namespace jepalab::trainer {

using ::jepalab::config::ConfigHash;
using ::jepalab::config::LoadTrainerConfigFile;
using ::jepalab::config::ResolvedConfigYaml;
namespace {

std::atomic<bool> g_cancel{false};  // set by the SIGINT/SIGTERM handler

// Keeps the latest values for the summary and forwards to metrics_service when configured.
class SummarySink : public MetricsSink {
 public:
  explicit SummarySink(MetricsSink* remote) : remote_(remote) {}
  void Report(int64_t step, int32_t epoch, const MetricValues& values) override {
    for (const auto& [name, value] : values) {
      if (name == metric_names::kLossTotal) train_loss = value;
      if (name == metric_names::kValLoss) val_loss = value;
    }
    if (remote_ != nullptr) remote_->Report(step, epoch, values);
    if (csv != nullptr) {
      // %.17g: the recorded values read back exactly.
      for (const auto& [name, value] : values) {
        std::fprintf(csv, "%lld,%d,%s,%.17g\n", static_cast<long long>(step), epoch, name.c_str(),
                     value);
      }
    }
  }
  void Flush() override {
    if (remote_ != nullptr) remote_->Flush();
  }
  double train_loss = 0, val_loss = 0;
  std::FILE* csv = nullptr;  // optional copy of every point (--metrics_csv)

 private:
  MetricsSink* remote_;
};

// One stderr line per epoch and per 10% of the steps.
class StderrProgress : public ProgressListener {
 public:
  void OnStart(const std::string& device, const RunProgress& p) override {
    std::fprintf(stderr, "device %s, %lld steps over %d epochs\n", device.c_str(),
                 static_cast<long long>(p.total_steps()), p.total_epochs());
  }
  void OnProgress(const RunProgress& p) override {
    const int64_t decile = p.total_steps() > 0 ? p.step() * 10 / p.total_steps() : 0;
    if (decile == last_decile_ && p.epoch() == last_epoch_) return;
    last_decile_ = decile;
    last_epoch_ = p.epoch();
    std::fprintf(stderr, "step %lld/%lld  epoch %d/%d  %.1f steps/s  ETA %.0fs\n",
                 static_cast<long long>(p.step()), static_cast<long long>(p.total_steps()),
                 p.epoch(), p.total_epochs(), p.steps_per_second(), p.eta_seconds());
  }

 private:
  int64_t last_decile_ = -1;
  int32_t last_epoch_ = -1;
};

int Main(const std::vector<char*>& positional) {
  if (positional.size() < 2) {
    std::fprintf(stderr,
                 "usage: jepa_train CONFIG.yaml [key=value ...] [--metrics_address=HOST:PORT]\n");
    return 2;
  }
  std::vector<std::string> overrides(positional.begin() + 2, positional.end());
  auto config = LoadTrainerConfigFile(positional[1], overrides);
  if (!config.ok()) {
    std::fprintf(stderr, "jepa_train: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<GrpcMetricsSink> remote;
  if (!absl::GetFlag(FLAGS_metrics_address).empty()) {
    GrpcMetricsSinkOptions options;
    options.address = absl::GetFlag(FLAGS_metrics_address);
    options.run.set_run_id(absl::GetFlag(FLAGS_run_id));
    options.run.set_config_yaml(ResolvedConfigYaml(*config));
    options.run.set_config_hash(ConfigHash(*config));
    remote = std::make_unique<GrpcMetricsSink>(options);
  }
  struct sigaction action {};
  action.sa_handler = [](int) { g_cancel = true; };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  SummarySink sink(remote.get());
  std::FILE* csv = nullptr;
  if (const std::string path = absl::GetFlag(FLAGS_metrics_csv); !path.empty()) {
    csv = std::fopen(path.c_str(), "w");
    if (csv == nullptr) {
      std::fprintf(stderr, "jepa_train: cannot write %s\n", path.c_str());
      return 2;
    }
    std::fprintf(csv, "step,epoch,name,value\n");
    sink.csv = csv;
  }
  StderrProgress progress;
  jepalab::trainer::RunContext context{absl::GetFlag(FLAGS_run_id)};
  context.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  context.resume_from = absl::GetFlag(FLAGS_resume_from);
  auto outcome = RunTraining(*config, context, &sink, &progress, &g_cancel);
  if (csv != nullptr) std::fclose(csv);
  if (remote != nullptr) {
    remote->UpdateRunState(
        outcome.ok() ? outcome->state : common::v1::RUN_STATE_FAILED,
        outcome.ok() ? outcome->message : std::string(outcome.status().message()));
    remote->Close(absl::Seconds(5));
  }
  if (!outcome.ok()) {
    std::fprintf(stderr, "jepa_train: %s\n", std::string(outcome.status().message()).c_str());
    return 1;
  }
  std::printf("state       %s\n", common::v1::RunState_Name(outcome->state).c_str());
  if (!outcome->message.empty()) std::printf("message     %s\n", outcome->message.c_str());
  std::printf("steps       %lld of %lld\n", static_cast<long long>(outcome->steps),
              static_cast<long long>(outcome->total_steps));
  std::printf("train loss  %.4f\nval loss    %.4f (best %.4f)\n", sink.train_loss, sink.val_loss,
              outcome->best_val_loss);
  return outcome->state == common::v1::RUN_STATE_SUCCEEDED ||
                 outcome->state == common::v1::RUN_STATE_EARLY_STOPPED
             ? 0
             : 1;
}

}  // namespace
}  // namespace jepalab::trainer

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "jepa_train CONFIG.yaml [key=value ...] [--metrics_address=HOST:PORT]");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  jepalab::common::InitLogging(argv[0]);
  return jepalab::trainer::Main(positional);
}
