// The reduced JEPA training loop (reference §5): data -> context/target projections ->
// InfoNCE -> accumulated backward -> clip -> Adam step -> LR schedule -> EMA target -> queue.
#include "trainer_service/core/trainer.h"

#include <signal.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/metric_names.h"
#include "common/status_macros.h"
#include "trainer_service/core/data/batch_prefetcher.h"
#include "trainer_service/core/data/grid_generator.h"
#include "trainer_service/core/data/task_dataset.h"
#include "trainer_service/core/early_stopping.h"
#include "trainer_service/core/losses/info_nce.h"
#include "trainer_service/core/losses/negative_queue.h"
#include "trainer_service/core/lr_schedule.h"
#include "trainer_service/core/model/ema.h"
#include "trainer_service/core/model/reduced_jepa.h"
#include "trainer_service/core/trainer_config.h"

namespace jepalab::trainer {
namespace {

namespace names = ::jepalab::metric_names;
using config::v1::TrainerConfig;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Keys of the full reference model that the reduced model does not use yet.
std::vector<std::string> IgnoredKeys(const TrainerConfig& c) {
  std::vector<std::string> out;
  if (c.sigreg().weight() > 0) out.push_back("sigreg.weight");
  if (c.invariance().color_weight() > 0 || c.invariance().translation_weight() > 0 ||
      c.invariance().symmetry_weight() > 0) {
    out.push_back("invariance.*_weight");
  }
  if (c.relational_loss().weight() > 0 || c.relational_loss().context_self_weight() > 0) {
    out.push_back("relational_loss.*");
  }
  if (c.object_encoder().vq_enabled()) out.push_back("object_encoder.vq_*");
  if (c.object_encoder().relational()) out.push_back("object_encoder.relational*");
  if (c.training().mixed_precision() != "none") out.push_back("training.mixed_precision");
  if (c.model().context_aggregation() != "mean") out.push_back("model.context_aggregation");
  return out;
}

absl::Status CheckSupported(const TrainerConfig& c) {
  if (c.has_dataset_manifest() || c.pre_tokenized().has_path()) {
    return absl::UnimplementedError(
        "dataset_manifest/pre_tokenized.path: only the built-in generator (data.generator) is "
        "supported so far; remove them to train on generated tasks");
  }
  if (c.loss().objective() != "infonce") {
    return absl::UnimplementedError(
        absl::StrCat("loss.objective: only \"infonce\" is supported so far, got \"",
                     c.loss().objective(), "\""));
  }
  return absl::OkStatus();
}

class Trainer {
 public:
  Trainer(const TrainerConfig& config, const RunContext& context, MetricsSink* sink,
          ProgressListener* listener, const std::atomic<bool>* cancel)
      : config_(config), context_(context), sink_(sink), listener_(listener), cancel_(cancel) {}

  absl::StatusOr<RunOutcome> Run();

 private:
  bool Cancelled() const { return cancel_ != nullptr && cancel_->load(); }
  void Report(int32_t epoch, const MetricValues& values) {
    if (sink_ != nullptr) sink_->Report(outcome_.steps, epoch, values);
  }
  void SendProgress(int32_t epoch);
  void Setup();
  // Trains one epoch; false when the run must end now (outcome_ says why).
  bool TrainEpoch(int32_t epoch, double* mean_loss);
  double Validate();
  void OptimizerStep(int32_t epoch, double window_loss, int window_count, Clock::time_point start);
  void TriggerFault(const std::string& fault);

  const TrainerConfig& config_;
  const RunContext& context_;
  MetricsSink* sink_;
  ProgressListener* listener_;
  const std::atomic<bool>* cancel_;

  torch::Device device_ = torch::kCPU;
  std::vector<Task> tasks_;
  DatasetSplit split_;
  int64_t batches_per_epoch_ = 0;
  int64_t data_seed_ = 0;
  double min_temperature_ = 0, max_temperature_ = 0;
  LrScheduleOptions lr_schedule_;

  ReducedJepa online_{nullptr};
  ReducedJepa target_{nullptr};  // null without use_target_encoder
  torch::Tensor log_temperature_;
  std::vector<torch::Tensor> trainable_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<NegativeQueue> queue_;
  std::vector<torch::Tensor> staged_;  // target projections waiting for the optimizer step

  RunOutcome outcome_;
  Clock::time_point train_start_;
  bool nan_fault_armed_ = false;
};

void Trainer::Setup() {
  const auto& t = config_.training();
  const int threads = t.num_threads() > 0
                          ? t.num_threads()
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // LibTorch 1.13 defaults to half the cores on x86 (TOOLCHAIN.md §8): set it explicitly.
  at::set_num_threads(threads);
  torch::manual_seed(static_cast<uint64_t>(config_.seed()));

  const bool want_cuda = t.device() == "auto" || t.device().rfind("cuda", 0) == 0;
  if (want_cuda && torch::cuda::is_available()) {
    device_ = t.device().rfind("cuda:", 0) == 0 ? torch::Device(t.device()) : torch::Device("cuda:0");
  } else {
    if (t.device() != "auto" && t.device() != "cpu") {
      LOG(WARNING) << context_.run_id << ": training.device=" << t.device()
                   << " but CUDA is not available; using cpu";
    }
    device_ = torch::kCPU;
  }
  outcome_.device = device_.str();

  const auto& loss = config_.loss();
  min_temperature_ = loss.temperature_bounds_size() == 2 ? loss.temperature_bounds(0) : loss.temperature_min();
  max_temperature_ = loss.temperature_bounds_size() == 2 ? loss.temperature_bounds(1) : loss.temperature_max();

  ReducedJepaOptions options;
  options.encoder.num_colors = kNumColorIds;
  options.encoder.hidden_dim = config_.object_encoder().hidden_dim();
  options.encoder.activation = config_.object_encoder().activation();
  options.projection.input_dim = options.encoder.hidden_dim;
  options.projection.projection_dim = loss.projection_dim();
  options.projection.layers = loss.projection_layers();
  options.projection.activation = loss.projection_activation();
  online_ = ReducedJepa(options);
  online_->to(device_);
  if (loss.use_target_encoder()) {
    // Built once as a copy of the online network, then frozen and EMA-updated (§3.7).
    target_ = ReducedJepa(options);
    target_->to(device_);
    InitTargetFromOnline(*target_, *online_);
  }
  const double init = loss.has_temperature_init() ? loss.temperature_init() : loss.temperature();
  log_temperature_ = torch::full({}, std::log(init), torch::TensorOptions().device(device_))
                         .set_requires_grad(loss.learnable_temperature());

  trainable_ = online_->parameters();
  if (loss.learnable_temperature()) trainable_.push_back(log_temperature_);
  const auto& o = config_.optimizer();
  if (o.name() == "adamw") {
    optimizer_ = std::make_unique<torch::optim::AdamW>(
        trainable_, torch::optim::AdamWOptions(o.lr()).weight_decay(o.weight_decay()));
  } else {  // coupled L2 weight decay, as the reference's torch.optim.Adam (§5)
    optimizer_ = std::make_unique<torch::optim::Adam>(
        trainable_, torch::optim::AdamOptions(o.lr()).weight_decay(o.weight_decay()));
  }
  queue_ = std::make_unique<NegativeQueue>(loss.queue_size(), loss.projection_dim(), device_);
}

void Trainer::SendProgress(int32_t epoch) {
  if (listener_ == nullptr) return;
  RunProgress p;
  p.set_step(outcome_.steps);
  p.set_total_steps(outcome_.total_steps);
  p.set_epoch(epoch);
  p.set_total_epochs(config_.training().epochs());
  const double elapsed = SecondsSince(train_start_);
  p.set_elapsed_seconds(elapsed);
  if (outcome_.steps > 0 && elapsed > 0) {
    const double rate = static_cast<double>(outcome_.steps) / elapsed;
    p.set_steps_per_second(rate);
    p.set_eta_seconds(static_cast<double>(outcome_.total_steps - outcome_.steps) / rate);
  }
  listener_->OnProgress(p);
}

void Trainer::TriggerFault(const std::string& fault) {
  const int64_t step = outcome_.steps + 1;
  LOG(WARNING) << context_.run_id << ": debug.fault=" << fault << " at step " << step;
  google::FlushLogFiles(google::GLOG_INFO);
  if (fault == "abort") std::abort();
  if (fault == "segfault") std::raise(SIGSEGV);
  if (fault == "torch_error") {
    TORCH_CHECK(false, "debug.fault=torch_error at step ", step);
  }
  if (fault == "nan") nan_fault_armed_ = true;
}

void Trainer::OptimizerStep(int32_t epoch, double window_loss, int window_count,
                            Clock::time_point start) {
  const double lr = config_.optimizer().lr() * LrScale(lr_schedule_, outcome_.steps);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  const auto& clip = config_.training().grad_clip();
  std::vector<torch::Tensor> with_grad;
  for (const auto& p : trainable_) {
    if (p.grad().defined()) with_grad.push_back(p);
  }
  // Clipping is off at max_norm 0; the pre-clip norm is recorded either way (§5).
  const double max_norm = clip.max_norm() > 0 ? clip.max_norm() : std::numeric_limits<double>::infinity();
  const double grad_norm = with_grad.empty() ? 0.0
                                             : torch::nn::utils::clip_grad_norm_(with_grad, max_norm, clip.norm_type());
  optimizer_->step();
  ++outcome_.steps;
  if (target_) UpdateEmaTarget(*target_, *online_, config_.loss().target_ema_decay());
  for (const auto& rows : staged_) queue_->Enqueue(rows);
  staged_.clear();
  optimizer_->zero_grad();

  const double tau = ClampedTemperature(log_temperature_.detach(), min_temperature_, max_temperature_).item<double>();
  const double mean_loss = window_loss / window_count;
  MetricValues values = {
      {names::kLossTotal, mean_loss},
      {names::kLossInfoNce, mean_loss},
      {names::kTemperature, tau},
      {names::kLearningRate, lr},
      {names::kStepTimeSeconds, SecondsSince(start)},
      {names::kQueueFill, static_cast<double>(queue_->fill())},
  };
  if (std::isfinite(grad_norm)) values.push_back({names::kGradNorm, grad_norm});
  Report(epoch, values);
  SendProgress(epoch);
}

bool Trainer::TrainEpoch(int32_t epoch, double* mean_loss) {
  const auto& t = config_.training();
  const int accum = t.grad_accum_steps();
  auto batches = EpochBatches(split_.train, t.batch_size(), config_.data().shuffle(), t.drop_last(),
                              data_seed_, epoch);
  const size_t num_batches = batches.size();
  BatchPrefetcher prefetcher(&tasks_, std::move(batches), config_.data().context_window());
  double epoch_loss = 0;
  int64_t micro_batches = 0;
  double window_loss = 0;
  int window_count = 0;
  Clock::time_point window_start = Clock::now();
  JepaBatch batch;
  for (size_t b = 0; b < num_batches; ++b) {
    if (Cancelled()) {
      outcome_.state = RunState::RUN_STATE_CANCELLED;
      outcome_.message = absl::StrCat("cancelled at step ", outcome_.steps, " (epoch ", epoch, ")");
      return false;
    }
    if (window_count == 0) {
      window_start = Clock::now();
      const auto& debug = config_.debug();
      if (debug.fault() != "none" && debug.fault_at_step() == outcome_.steps + 1) TriggerFault(debug.fault());
    }
    prefetcher.Next(&batch);
    const GridTensors context = ToTensors(batch.context, device_);
    const GridTensors target_grids = ToTensors(batch.target, device_);
    torch::Tensor c = online_->ContextProjection(context, batch.context_window);
    torch::Tensor tgt;
    if (target_) {
      torch::NoGradGuard no_grad;
      tgt = target_->TargetProjection(target_grids);
    } else {
      tgt = online_->TargetProjection(target_grids);  // with gradients, as the reference (§3.7)
    }
    InfoNceResult nce = InfoNce(c, tgt, queue_->Negatives(), log_temperature_, min_temperature_,
                                max_temperature_);
    torch::Tensor loss = nce.loss;
    if (nan_fault_armed_) loss = loss * std::numeric_limits<double>::quiet_NaN();
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      // The reference skips such windows; we end the run so the divergence is visible.
      outcome_.state = RunState::RUN_STATE_DIVERGED;
      outcome_.message = absl::StrCat(names::kLossInfoNce, " is ", std::isnan(value) ? "nan" : "inf",
                                      " at step ", outcome_.steps + 1, " (epoch ", epoch, ")");
      return false;
    }
    (loss / accum).backward();
    staged_.push_back(tgt.detach());
    epoch_loss += value;
    ++micro_batches;
    window_loss += value;
    ++window_count;
    // Step when the window is full, and once more at epoch end for a remainder (§5).
    if (window_count == accum || b + 1 == num_batches) {
      OptimizerStep(epoch, window_loss, window_count, window_start);
      window_loss = 0;
      window_count = 0;
      if (t.max_steps() > 0 && outcome_.steps >= t.max_steps()) break;
    }
  }
  *mean_loss = micro_batches > 0 ? epoch_loss / static_cast<double>(micro_batches) : 0.0;
  return true;
}

double Trainer::Validate() {
  torch::NoGradGuard no_grad;
  const int batch_size = config_.data().validation().has_batch_size()
                             ? config_.data().validation().batch_size()
                             : config_.training().batch_size();
  const auto batches = EpochBatches(split_.validation, batch_size, /*shuffle=*/false,
                                    /*drop_last=*/false, data_seed_, 0);
  double total = 0;
  for (const auto& indices : batches) {
    const JepaBatch batch = MakeJepaBatch(tasks_, indices, config_.data().context_window());
    torch::Tensor c = online_->ContextProjection(ToTensors(batch.context, device_), batch.context_window);
    torch::Tensor tgt = (target_ ? target_ : online_)->TargetProjection(ToTensors(batch.target, device_));
    // The queue is read but not updated during validation (§4.1).
    total += InfoNce(c, tgt, queue_->Negatives(), log_temperature_, min_temperature_, max_temperature_)
                 .loss.item<double>();
  }
  return batches.empty() ? 0.0 : total / static_cast<double>(batches.size());
}

absl::StatusOr<RunOutcome> Trainer::Run() {
  JEPALAB_RETURN_IF_ERROR(CheckSupported(config_));
  const std::vector<std::string> ignored = IgnoredKeys(config_);
  if (!ignored.empty()) {
    LOG(INFO) << context_.run_id << ": reduced JEPA ignores " << absl::StrJoin(ignored, ", ");
  }
  Setup();
  const auto& t = config_.training();
  const Clock::time_point data_start = Clock::now();
  JEPALAB_ASSIGN_OR_RETURN(tasks_, GenerateTasks(config_.data().generator()));
  split_ = SplitSamples(static_cast<int64_t>(tasks_.size()), config_.data().validation().split(),
                        config_.data().validation().seed());
  data_seed_ = config_.data().has_seed() ? config_.data().seed()
               : config_.pre_tokenized().has_seed() ? config_.pre_tokenized().seed()
                                                    : config_.seed();
  batches_per_epoch_ = static_cast<int64_t>(
      EpochBatches(split_.train, t.batch_size(), false, t.drop_last(), 0, 0).size());
  outcome_.total_steps = PlannedOptimizerSteps(config_, batches_per_epoch_);
  lr_schedule_ = {t.lr_scheduler().name(), t.lr_scheduler().warmup_steps(), outcome_.total_steps,
                  t.lr_scheduler().min_lr_scale()};
  LOG(INFO) << absl::StrFormat(
      "%s: %d tasks (%d train, %d validation) generated in %.2fs; %d batches/epoch, %d steps "
      "planned on %s with %d threads",
      context_.run_id, tasks_.size(), split_.train.size(), split_.validation.size(),
      SecondsSince(data_start), batches_per_epoch_, outcome_.total_steps, outcome_.device,
      at::get_num_threads());

  train_start_ = Clock::now();
  if (listener_ != nullptr) {
    RunProgress p;
    p.set_total_steps(outcome_.total_steps);
    p.set_total_epochs(t.epochs());
    listener_->OnStart(outcome_.device, p);
  }
  const auto& es = t.early_stopping();
  EarlyStopping stopper(es.enabled(), es.patience(), es.min_delta(), es.mode());
  for (int32_t epoch = 1; epoch <= t.epochs(); ++epoch) {
    outcome_.epochs = epoch;
    double train_loss = 0;
    if (!TrainEpoch(epoch, &train_loss)) break;
    outcome_.last_train_loss = train_loss;
    if (Cancelled()) {
      outcome_.state = RunState::RUN_STATE_CANCELLED;
      outcome_.message = absl::StrCat("cancelled at step ", outcome_.steps, " (epoch ", epoch, ")");
      break;
    }
    const double val_loss = Validate();
    Report(epoch, {{names::kEpoch, epoch}, {names::kTrainLoss, train_loss}, {names::kValLoss, val_loss}});
    SendProgress(epoch);
    if (sink_ != nullptr) sink_->Flush();
    LOG(INFO) << absl::StrFormat("%s: epoch %d/%d step %d train/loss %.4f val/loss %.4f",
                                 context_.run_id, epoch, t.epochs(), outcome_.steps, train_loss, val_loss);
    if (!std::isfinite(val_loss)) {
      outcome_.state = RunState::RUN_STATE_DIVERGED;
      outcome_.message = absl::StrCat(names::kValLoss, " is not finite after epoch ", epoch,
                                      " (step ", outcome_.steps, ")");
      break;
    }
    stopper.Update(val_loss);
    outcome_.best_val_loss = stopper.best().value_or(val_loss);
    if (stopper.ShouldStop()) {
      outcome_.state = RunState::RUN_STATE_EARLY_STOPPED;
      outcome_.message = absl::StrFormat(
          "val/loss did not improve by more than %g for %d epochs (best %.4f); stopped after epoch %d",
          es.min_delta(), stopper.wait(), outcome_.best_val_loss, epoch);
      break;
    }
    if (t.max_steps() > 0 && outcome_.steps >= t.max_steps()) break;
  }
  if (outcome_.state == RunState::RUN_STATE_UNSPECIFIED) {
    outcome_.state = RunState::RUN_STATE_SUCCEEDED;
    const double seconds = SecondsSince(train_start_);
    outcome_.message = absl::StrFormat("%d steps in %.1fs (%.2f steps/s)", outcome_.steps, seconds,
                                       seconds > 0 ? static_cast<double>(outcome_.steps) / seconds : 0.0);
  }
  if (sink_ != nullptr) sink_->Flush();
  return outcome_;
}

}  // namespace

absl::StatusOr<RunOutcome> RunTraining(const TrainerConfig& config, const RunContext& context,
                                       MetricsSink* sink, ProgressListener* listener,
                                       const std::atomic<bool>* cancel) {
  JEPALAB_RETURN_IF_ERROR(ValidateTrainerConfig(config));
  // No exception crosses the core API (STYLE.md §3): LibTorch reports errors as c10::Error.
  try {
    Trainer trainer(config, context, sink, listener, cancel);
    return trainer.Run();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("libtorch: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("training failed: ", e.what()));
  }
}

}  // namespace jepalab::trainer
