// The JEPA training loop (reference §5): token batches -> online/target encodings -> loss terms
// -> accumulated backward -> clip -> Adam step -> LR schedule -> target EMA -> queue -> VQ step;
// validation, early stopping, diagnostics and checkpoints at their intervals.
#include "trainer_service/core/trainer.h"

#include <signal.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/metric_names.h"
#include "common/status_macros.h"
#include "config/trainer_config.h"
#include "trainer_service/core/autocast.h"
#include "trainer_service/core/checkpoint.h"
#include "trainer_service/core/data/augmentations.h"
#include "trainer_service/core/data/task_dataset.h"
#include "trainer_service/core/data/token_prefetcher.h"
#include "trainer_service/core/data/training_samples.h"
#include "trainer_service/core/diagnostics/embedding_metrics.h"
#include "trainer_service/core/diagnostics/vq_diagnostics.h"
#include "trainer_service/core/early_stopping.h"
#include "trainer_service/core/losses/info_nce.h"
#include "trainer_service/core/losses/negative_queue.h"
#include "trainer_service/core/lr_schedule.h"
#include "trainer_service/core/model/ema.h"
#include "trainer_service/core/model/fused_attention.h"
#include "trainer_service/core/model/jepa_model.h"
#include "trainer_service/core/model/parallel_linear.h"
#include "trainer_service/core/objective.h"

namespace jepalab::trainer {

using ::jepalab::config::LastEpoch;
using ::jepalab::config::OptimizerStepsToRun;
using ::jepalab::config::PlannedOptimizerSteps;
using ::jepalab::config::ValidateTrainerConfig;
namespace {

namespace names = ::jepalab::metric_names;
using config::v1::TrainerConfig;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Running sums of the loss terms over a window of micro-batches.
struct TermSums {
  std::vector<std::string> names;
  std::vector<double> sums;
  double total = 0;
  int count = 0;
  void Add(const std::vector<std::string>& n, const std::vector<double>& values, double t) {
    if (names.empty()) {
      names = n;
      sums.assign(n.size(), 0.0);
    }
    for (size_t i = 0; i < values.size() && i < sums.size(); ++i) sums[i] += values[i];
    total += t;
    ++count;
  }
  void Clear() { *this = TermSums(); }
};

void AddStats(const std::string& side, const EmbeddingStats& s, MetricValues* out) {
  const std::string p = absl::StrCat(names::kDiagnosticsPrefix, side, "/");
  out->push_back({p + names::kStatEffectiveRank, s.effective_rank});
  out->push_back({p + names::kStatIsotropy, s.isotropy});
  out->push_back({p + names::kStatRankMe, s.rankme});
  out->push_back({p + names::kStatIsotropyRobust, s.robust_isotropy});
  out->push_back({p + names::kStatVariance, s.variance});
  out->push_back({p + names::kStatGaussianScore, s.gaussian_score});
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
  absl::Status Setup();
  JepaModelImpl* target() { return target_.is_empty() ? nullptr : target_.get(); }
  TrainingState State() {
    return {online_.get(), target(), &log_temperature_, optimizer_.get(), queue_.get()};
  }
  std::unique_ptr<TokenPrefetcher> Prefetch(std::vector<std::vector<int64_t>> batches, bool augment,
                                            int epoch);
  // Trains one epoch; false when the run must end now (outcome_ says why).
  absl::StatusOr<bool> TrainEpoch(int32_t epoch, double* mean_loss);
  // Runs one micro-batch's forward and backward; false (outcome_ set) on a non-finite term.
  bool MicroBatch(int32_t epoch, const TokenBatch& batch, TermSums* window, double* total);
  double Validate();
  void OptimizerStep(int32_t epoch, const TermSums& window, Clock::time_point start);
  absl::Status Observe(const ObjectiveResult& r, const TokenTensors& t, int32_t epoch);
  void ReportDiagnostics(const EmbeddingEvent& event, int32_t epoch);
  // The per-refresh points of the checks that fired since the last call, at the current step.
  void ReportRefreshes(int32_t epoch);
  // Whether the VQ calls from now on go into the diagnostics windows (training micro-batches).
  void SetVqWindowsOpen(bool open);
  // After epoch `epoch`: checkpoint_latest.pt, plus the epoch's own file at the interval.
  absl::Status Checkpoint(int32_t epoch);
  // Inside epoch `epoch`, after `batches_done` micro-batches (training.checkpoint_every_steps).
  absl::Status CheckpointInsideEpoch(int32_t epoch, int64_t batches_done, double loss_sum);
  TrainingCounters Counters(int32_t epochs_done) const;
  void TriggerFault(const std::string& fault);

  const TrainerConfig& config_;
  const RunContext& context_;
  MetricsSink* sink_;
  ProgressListener* listener_;
  const std::atomic<bool>* cancel_;

  torch::Device device_ = torch::kCPU;
  bool bf16_autocast_ = false;  // training.mixed_precision: bf16 on a CUDA device
  std::vector<GridSample> samples_;
  ObjectTokenizerOptions tokenizer_options_;
  DatasetSplit split_;
  int64_t data_seed_ = 0;
  LrScheduleOptions lr_schedule_;
  std::string checkpoint_dir_;

  JepaModel online_{nullptr};
  JepaModel target_{nullptr};  // empty without use_target_encoder
  torch::Tensor log_temperature_;
  std::vector<torch::Tensor> trainable_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<NegativeQueue> queue_;
  std::unique_ptr<JepaObjective> objective_;
  std::unique_ptr<EmbeddingDiagnosticsTracker> tracker_;
  // One per VQ codebook (online, then target): diagnostics windows and per-refresh points.
  std::vector<std::unique_ptr<VqDiagnostics>> vq_diagnostics_;
  std::vector<torch::Tensor> staged_;  // target projections waiting for the optimizer step

  RunOutcome outcome_;
  TrainingCounters resumed_;
  std::optional<EarlyStopping> stopper_;  // set in Run()
  Clock::time_point train_start_;
  bool nan_fault_armed_ = false;
};

absl::Status Trainer::Setup() {
  const auto& t = config_.training();
  const int threads = t.num_threads() > 0 ? t.num_threads()
                      : context_.default_threads > 0
                          ? context_.default_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // LibTorch 1.13 defaults to half the cores on x86 (TOOLCHAIN.md §8): set it explicitly.
  at::set_num_threads(threads);
  UseSingleThreadedBlas();
  torch::manual_seed(static_cast<uint64_t>(config_.seed()));

  const bool want_cuda = t.device() == "auto" || t.device().rfind("cuda", 0) == 0;
  if (want_cuda && torch::cuda::is_available()) {
    device_ =
        t.device().rfind("cuda:", 0) == 0 ? torch::Device(t.device()) : torch::Device("cuda:0");
  } else {
    if (t.device() != "auto" && t.device() != "cpu") {
      LOG(WARNING) << context_.run_id << ": training.device=" << t.device()
                   << " but CUDA is not available; using cpu";
    }
    device_ = torch::kCPU;
  }
  outcome_.device = device_.str();
  // bf16: autocast around the forward on CUDA (no loss scaling needed); fp16 would need one.
  bf16_autocast_ = t.mixed_precision() == "bf16" && device_.is_cuda();
  if (t.mixed_precision() == "bf16" && !bf16_autocast_) {
    LOG(INFO) << context_.run_id
              << ": training.mixed_precision=bf16 applies to CUDA only; training in fp32 on "
              << device_.str();
  } else if (t.mixed_precision() == "fp16") {
    LOG(WARNING) << context_.run_id
                 << ": training.mixed_precision=fp16 is not implemented; training in fp32";
  }

  const Clock::time_point data_start = Clock::now();
  JEPALAB_ASSIGN_OR_RETURN(TrainingSamples loaded, LoadTrainingSamples(config_, threads));
  samples_ = std::move(loaded.samples);
  tokenizer_options_ = TokenizerOptionsFromConfig(config_.tokenizer());
  JEPALAB_RETURN_IF_ERROR(ValidateTokenizerOptions(tokenizer_options_));
  split_ = SplitSamples(static_cast<int64_t>(samples_.size()), config_.data().validation().split(),
                        config_.data().validation().seed());
  data_seed_ = config_.data().has_seed()            ? config_.data().seed()
               : config_.pre_tokenized().has_seed() ? config_.pre_tokenized().seed()
                                                    : config_.seed();
  const int64_t batches_per_epoch = static_cast<int64_t>(
      EpochBatches(split_.train, t.batch_size(), false, t.drop_last(), 0, 0).size());
  // The schedule spans all `epochs`; training.stop_after_epochs only ends the run earlier.
  outcome_.total_steps = OptimizerStepsToRun(config_, batches_per_epoch);
  lr_schedule_ = {t.lr_scheduler().name(), t.lr_scheduler().warmup_steps(),
                  PlannedOptimizerSteps(config_, batches_per_epoch),
                  t.lr_scheduler().min_lr_scale()};

  const JepaModelOptions options = JepaModelOptionsFromConfig(config_);
  online_ = JepaModel(options);
  online_->to(device_);
  const auto& loss = config_.loss();
  if (loss.use_target_encoder()) {
    // A frozen copy of the online network, EMA-updated after each optimizer step (§3.7).
    target_ = JepaModel(options);
    target_->to(device_);
    CopyIntoTarget(*target_, *online_);
    // compat.train_mode_everywhere (§0.4/§3.7): the reference's target stays in training mode,
    // so its dropout is active and its VQ updates its own EMA and refresh counter.
    target_->train(config_.compat().train_mode_everywhere());
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
  objective_ = std::make_unique<JepaObjective>(config_);
  const auto& em = config_.diagnostics().embedding_metrics();
  if (em.enabled()) {
    tracker_ = std::make_unique<EmbeddingDiagnosticsTracker>(
        em.has_log_interval() ? em.log_interval() : em.interval(), em.max_samples(),
        options.vq.has_value() ? options.vq->num_embeddings() : 1);
  }
  if (VqCodebook vq = online_->vq_codebook()) {
    vq_diagnostics_.push_back(std::make_unique<VqDiagnostics>(vq, names::kVqOnline));
  }
  if (target()) {
    if (VqCodebook vq = target_->vq_codebook()) {
      vq_diagnostics_.push_back(std::make_unique<VqDiagnostics>(vq, names::kVqTarget));
    }
  }
  SetVqWindowsOpen(tracker_ != nullptr);  // no events, no windows
  checkpoint_dir_ = !context_.checkpoint_dir.empty() ? context_.checkpoint_dir : t.checkpoint_dir();
  if (!checkpoint_dir_.empty()) {  // now, not after the first epoch of training
    std::error_code error;
    std::filesystem::create_directories(checkpoint_dir_, error);
    if (error) {
      return absl::FailedPreconditionError(absl::StrCat("training.checkpoint_dir: cannot create ",
                                                        checkpoint_dir_, ": ", error.message()));
    }
  }
  LOG(INFO) << absl::StrFormat(
      "%s: %s: %d samples (%d train, %d validation) in %.2fs; %d batches/epoch, %d steps planned "
      "on %s with %d threads; full JEPA, %s objective",
      context_.run_id, loaded.source, samples_.size(), split_.train.size(),
      split_.validation.size(), SecondsSince(data_start), batches_per_epoch, outcome_.total_steps,
      outcome_.device, at::get_num_threads(), loss.objective());
  const auto& encoder = config_.object_encoder();
  if (device_.is_cpu() && encoder.relational()) {
    const int64_t head_dim = encoder.hidden_dim() / std::max(1, encoder.relational_heads());
    if (FusedAttentionSupports(config_.tokenizer().max_objects(), head_dim)) {
      LOG(INFO) << context_.run_id << ": relational attention runs as the fused AVX2 kernel";
    } else {
      LOG(WARNING) << context_.run_id
                   << ": relational attention runs as separate ATen ops, about 3.5x slower: "
                   << "the fused kernel needs tokenizer.max_objects ("
                   << config_.tokenizer().max_objects() << ") and the head dimension (" << head_dim
                   << ") to be multiples of 8 and a CPU with AVX2/FMA";
    }
  }
  return absl::OkStatus();
}

void Trainer::SendProgress(int32_t epoch) {
  if (listener_ == nullptr) return;
  RunProgress p;
  p.set_step(outcome_.steps);
  p.set_total_steps(outcome_.total_steps);
  p.set_epoch(epoch);
  p.set_total_epochs(LastEpoch(config_));
  const double elapsed = SecondsSince(train_start_);
  p.set_elapsed_seconds(elapsed);
  const int64_t done = outcome_.steps - resumed_.steps;
  if (done > 0 && elapsed > 0) {
    const double rate = static_cast<double>(done) / elapsed;
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
  if (fault == "hang") {
    while (true) std::this_thread::sleep_for(std::chrono::seconds(1));  // only SIGKILL ends this
  }
}

std::unique_ptr<TokenPrefetcher> Trainer::Prefetch(std::vector<std::vector<int64_t>> batches,
                                                   bool augment, int epoch) {
  auto tokenizer = ObjectTokenizer::Create(tokenizer_options_);  // validated in Setup
  SampleTransform transform;
  if (augment && AugmentationsEnabled(config_.augmentations())) {
    const auto aug = config_.augmentations();
    const int background =
        tokenizer_options_.background.empty() ? 0 : tokenizer_options_.background[0];
    const uint64_t seed = MixSeed(static_cast<uint64_t>(data_seed_), static_cast<uint64_t>(epoch));
    transform = [aug, background, seed](int64_t index, GridSample* s) {
      AugmentSample(aug, background, seed, index, s);
    };
  }
  return std::make_unique<TokenPrefetcher>(&samples_, std::move(batches),
                                           config_.data().context_window(), std::move(*tokenizer),
                                           std::move(transform));
}

void Trainer::OptimizerStep(int32_t epoch, const TermSums& window, Clock::time_point start) {
  const Clock::time_point step_start = Clock::now();
  const double lr = config_.optimizer().lr() * LrScale(lr_schedule_, outcome_.steps);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  const auto& clip = config_.training().grad_clip();
  std::vector<torch::Tensor> with_grad;
  for (const auto& p : trainable_) {
    if (p.grad().defined()) with_grad.push_back(p);
  }
  // Clipping is off at max_norm 0; the pre-clip norm is recorded either way (§5).
  const double max_norm =
      clip.max_norm() > 0 ? clip.max_norm() : std::numeric_limits<double>::infinity();
  const double grad_norm =
      with_grad.empty() ? 0.0
                        : torch::nn::utils::clip_grad_norm_(with_grad, max_norm, clip.norm_type());
  optimizer_->step();
  ++outcome_.steps;
  if (target()) UpdateEmaTarget(*target_, *online_, config_.loss().target_ema_decay());
  for (const auto& rows : staged_) queue_->Enqueue(rows);
  staged_.clear();
  if (VqCodebook vq = online_->vq_codebook()) vq->OptimizerStep();  // no-op with per_call timing
  // A no-op unless the target is in training mode (compat.train_mode_everywhere).
  if (target()) {
    if (VqCodebook vq = target_->vq_codebook()) vq->OptimizerStep();
  }
  optimizer_->zero_grad();
  ReportRefreshes(epoch);  // the checks of this step's VQ calls and of its VQ step

  const double tau = ClampedTemperature(log_temperature_.detach(), objective_->min_temperature(),
                                        objective_->max_temperature())
                         .item<double>();
  MetricValues values = {{names::kLossTotal, window.total / window.count}};
  for (size_t i = 0; i < window.names.size(); ++i)
    values.push_back({window.names[i], window.sums[i] / window.count});
  values.push_back({names::kTemperature, tau});
  values.push_back({names::kLearningRate, lr});
  values.push_back({names::kStepTimeSeconds, SecondsSince(start)});
  values.push_back({names::kQueueFill, static_cast<double>(queue_->fill())});
  if (std::isfinite(grad_norm)) values.push_back({names::kGradNorm, grad_norm});
  Report(epoch, values);
  SendProgress(epoch);
  outcome_.timings.optimizer += SecondsSince(step_start);
}

bool Trainer::MicroBatch(int32_t epoch, const TokenBatch& batch, TermSums* window, double* total) {
  const Clock::time_point forward_start = Clock::now();
  const TokenTensors tensors = ToTensors(batch, device_);
  ObjectiveResult r;
  {
    ScopedCudaBf16Autocast autocast(bf16_autocast_);
    r = objective_->Compute(*online_, target(), tensors, queue_->Negatives(), log_temperature_);
  }
  if (nan_fault_armed_) {
    const std::string wanted = config_.debug().fault_term().empty()
                                   ? std::string(objective_->primary_term())
                                   : absl::StrCat(names::kLossPrefix, config_.debug().fault_term());
    for (auto& [name, value] : r.terms) {
      if (name == wanted) {
        value = value * std::numeric_limits<double>::quiet_NaN();
        r.total = r.total * std::numeric_limits<double>::quiet_NaN();
      }
    }
  }
  // One host sync for every term.
  std::vector<torch::Tensor> scalars;
  std::vector<std::string> term_names;
  for (const auto& [name, value] : r.terms) {
    scalars.push_back(value.detach().to(torch::kFloat64).reshape({}));
    term_names.push_back(name);
  }
  scalars.push_back(r.total.detach().to(torch::kFloat64).reshape({}));
  const torch::Tensor host = torch::stack(scalars).cpu();
  const double* v = host.data_ptr<double>();
  for (size_t i = 0; i < scalars.size(); ++i) {
    if (!std::isfinite(v[i])) {
      // The reference skips such windows; we end the run so that the divergence is visible.
      const std::string name = i < term_names.size() ? term_names[i] : names::kLossTotal;
      outcome_.state = RunState::RUN_STATE_DIVERGED;
      outcome_.message = absl::StrCat(name, " is ", std::isnan(v[i]) ? "nan" : "inf", " at step ",
                                      outcome_.steps + 1, " (epoch ", epoch, ")");
      return false;
    }
  }
  const Clock::time_point backward_start = Clock::now();
  outcome_.timings.forward += std::chrono::duration<double>(backward_start - forward_start).count();
  (r.total / config_.training().grad_accum_steps()).backward();
  outcome_.timings.backward += SecondsSince(backward_start);
  outcome_.timings.train_samples += batch.size;
  staged_.push_back(r.target_projection);
  *total = v[scalars.size() - 1];
  window->Add(term_names, std::vector<double>(v, v + term_names.size()), *total);
  if (tracker_) {
    const Clock::time_point diagnostics_start = Clock::now();
    const absl::Status s = Observe(r, tensors, epoch);
    if (!s.ok()) LOG(WARNING) << context_.run_id << ": diagnostics: " << s;
    outcome_.timings.diagnostics += SecondsSince(diagnostics_start);
  }
  return true;
}

absl::Status Trainer::Observe(const ObjectiveResult& r, const TokenTensors& t, int32_t epoch) {
  const int64_t bt = t.context_mask.size(0) * t.context_mask.size(1);
  JEPALAB_ASSIGN_OR_RETURN(
      std::optional<EmbeddingEvent> event,
      tracker_->Observe(r.context_projection, r.target_projection, r.context_indices,
                        t.context_mask.reshape({bt, t.context_mask.size(2)}), r.target_indices,
                        t.target_mask));
  if (event.has_value()) ReportDiagnostics(*event, epoch);
  return absl::OkStatus();
}

void Trainer::ReportDiagnostics(const EmbeddingEvent& event, int32_t epoch) {
  MetricValues values;
  AddStats("context", event.context, &values);
  AddStats("target", event.target, &values);
  if (online_->vq_codebook()) {
    // The reference's usage (valid slots, context ∪ target ids); diagnostics/vq/usage_ratio is
    // the online VQ's window aggregate over all its rows (docs/monitoring.md).
    values.push_back({names::kVqValidSlotUsageRatio, event.vq_usage_ratio});
    values.push_back({names::kVqValidSlotActiveCodes, static_cast<double>(event.vq_active_codes)});
  }
  for (const auto& vq : vq_diagnostics_) vq->AppendEventMetrics(&values);
  Report(epoch, values);
}

void Trainer::ReportRefreshes(int32_t epoch) {
  MetricValues values;
  for (const auto& vq : vq_diagnostics_) vq->AppendRefreshMetrics(&values);
  if (!values.empty()) Report(epoch, values);
}

void Trainer::SetVqWindowsOpen(bool open) {
  for (const auto& vq : vq_diagnostics_) vq->set_window_open(open);
}

absl::StatusOr<bool> Trainer::TrainEpoch(int32_t epoch, double* mean_loss) {
  const auto& t = config_.training();
  const int accum = t.grad_accum_steps();
  online_->train();
  auto batches = EpochBatches(split_.train, t.batch_size(), config_.data().shuffle(), t.drop_last(),
                              data_seed_, epoch);
  const size_t num_batches = batches.size();
  // A checkpoint from inside this epoch: its batches are done. The batch order and the
  // augmentations depend only on (seed, epoch, sample), so the rest is what the run would have
  // seen.
  double epoch_loss = 0;
  int64_t micro_batches = 0;
  size_t first_batch = 0;
  if (epoch == resumed_.epoch + 1 && resumed_.epoch_batches_done > 0) {
    first_batch = std::min(num_batches, static_cast<size_t>(resumed_.epoch_batches_done));
    micro_batches = static_cast<int64_t>(first_batch);
    epoch_loss = resumed_.epoch_loss_sum;
    batches.erase(batches.begin(), batches.begin() + static_cast<std::ptrdiff_t>(first_batch));
  }
  auto prefetcher = Prefetch(std::move(batches), /*augment=*/true, epoch);
  TermSums window;
  Clock::time_point window_start = Clock::now();
  TokenBatch batch;
  for (size_t b = first_batch; b < num_batches; ++b) {
    if (Cancelled()) {
      outcome_.state = RunState::RUN_STATE_CANCELLED;
      outcome_.message = absl::StrCat("cancelled at step ", outcome_.steps, " (epoch ", epoch, ")");
      return false;
    }
    if (window.count == 0) {
      window_start = Clock::now();
      const auto& debug = config_.debug();
      const bool this_attempt =
          debug.fault_on_attempt() == 0 || debug.fault_on_attempt() == context_.attempt;
      if (debug.fault() != "none" && this_attempt && debug.fault_at_step() == outcome_.steps + 1) {
        TriggerFault(debug.fault());
      }
    }
    const Clock::time_point wait_start = Clock::now();
    prefetcher->Next(&batch);
    outcome_.timings.data_wait += SecondsSince(wait_start);
    double value = 0;
    if (!MicroBatch(epoch, batch, &window, &value)) return false;
    epoch_loss += value;
    ++micro_batches;
    // Step when the window is full, and once more at epoch end for a remainder (§5).
    if (window.count == accum || b + 1 == num_batches) {
      OptimizerStep(epoch, window, window_start);
      window.Clear();
      if (t.max_steps() > 0 && outcome_.steps >= t.max_steps()) break;
      const int every = t.checkpoint_every_steps();
      if (every > 0 && outcome_.steps % every == 0 && b + 1 < num_batches) {
        JEPALAB_RETURN_IF_ERROR(
            CheckpointInsideEpoch(epoch, static_cast<int64_t>(b + 1), epoch_loss));
      }
    }
  }
  *mean_loss = micro_batches > 0 ? epoch_loss / static_cast<double>(micro_batches) : 0.0;
  return true;
}

double Trainer::Validate() {
  torch::NoGradGuard no_grad;
  // compat.train_mode_everywhere (§0.4): the reference validates in training mode (dropout, VQ
  // EMA/refresh and the SIGReg seed counter all advance); otherwise eval mode, seed restored.
  const bool train_mode = config_.compat().train_mode_everywhere();
  if (!train_mode) online_->eval();
  // The diagnostics windows cover the training micro-batches only: validation calls (which
  // update the VQs under train_mode_everywhere) are left out. Refresh checks that fire here are
  // reported with the next optimizer step (the store keeps one point per name and step).
  SetVqWindowsOpen(false);
  const int64_t sigreg_step = objective_->sigreg().step();
  const int batch_size = config_.data().validation().has_batch_size()
                             ? config_.data().validation().batch_size()
                             : config_.training().batch_size();
  auto batches = EpochBatches(split_.validation, batch_size, /*shuffle=*/false, /*drop_last=*/false,
                              data_seed_, 0);
  const size_t n = batches.size();
  auto prefetcher = Prefetch(std::move(batches), /*augment=*/false, 0);
  double total = 0;
  TokenBatch batch;
  for (size_t i = 0; i < n; ++i) {
    prefetcher->Next(&batch);
    // The queue is read but not updated during validation (§4.1).
    ScopedCudaBf16Autocast autocast(bf16_autocast_);
    total += objective_
                 ->Compute(*online_, target(), ToTensors(batch, device_), queue_->Negatives(),
                           log_temperature_)
                 .total.item<double>();
  }
  if (!train_mode) objective_->sigreg().set_step(sigreg_step);
  online_->train();
  SetVqWindowsOpen(tracker_ != nullptr);
  return n == 0 ? 0.0 : total / static_cast<double>(n);
}

TrainingCounters Trainer::Counters(int32_t epochs_done) const {
  TrainingCounters c;
  c.steps = outcome_.steps;
  c.epoch = epochs_done;
  c.best_val_loss = stopper_->best();
  c.early_stopping_wait = stopper_->wait();
  c.sigreg_step = objective_->sigreg().step();
  c.last_train_loss = outcome_.last_train_loss;
  if (VqCodebook vq = online_->vq_codebook()) {
    c.vq_refreshes = vq->refresh_events_total();
    c.vq_reinitialised = vq->codes_reinitialised_total();
    c.vq_reinitialised_in_use = vq->reinitialised_in_use_total();
    c.vq_revivals_survived = vq->revivals_survived_total();
  }
  if (VqCodebook vq = target_.is_empty() ? nullptr : target_->vq_codebook()) {
    c.vq_target_refreshes = vq->refresh_events_total();
    c.vq_target_reinitialised = vq->codes_reinitialised_total();
    c.vq_target_reinitialised_in_use = vq->reinitialised_in_use_total();
    c.vq_target_revivals_survived = vq->revivals_survived_total();
  }
  return c;
}

absl::Status Trainer::Checkpoint(int32_t epoch) {
  if (checkpoint_dir_.empty()) return absl::OkStatus();
  const TrainingCounters c = Counters(epoch);
  JEPALAB_RETURN_IF_ERROR(SaveCheckpoint(LatestCheckpointPath(checkpoint_dir_), State(), c));
  const int interval = config_.training().checkpoint_interval();
  if ((interval > 0 && epoch % interval == 0) || epoch == LastEpoch(config_)) {
    JEPALAB_RETURN_IF_ERROR(
        SaveCheckpoint(EpochCheckpointPath(checkpoint_dir_, epoch), State(), c));
  }
  return absl::OkStatus();
}

absl::Status Trainer::CheckpointInsideEpoch(int32_t epoch, int64_t batches_done, double loss_sum) {
  if (checkpoint_dir_.empty()) return absl::OkStatus();
  TrainingCounters c = Counters(epoch - 1);
  c.epoch_batches_done = batches_done;
  c.epoch_loss_sum = loss_sum;
  return SaveCheckpoint(LatestCheckpointPath(checkpoint_dir_), State(), c);
}

absl::StatusOr<RunOutcome> Trainer::Run() {
  JEPALAB_RETURN_IF_ERROR(Setup());
  const auto& t = config_.training();
  const auto& es = t.early_stopping();
  stopper_.emplace(es.enabled(), es.patience(), es.min_delta(), es.mode());
  EarlyStopping& stopper = *stopper_;
  int32_t first_epoch = 1;
  std::string resume_from = context_.resume_from;
  if (resume_from.empty() && context_.resume_latest && !checkpoint_dir_.empty()) {
    const std::string latest = LatestCheckpointPath(checkpoint_dir_);
    if (access(latest.c_str(), R_OK) == 0) {
      resume_from = latest;
    } else {
      LOG(INFO) << context_.run_id << ": no checkpoint in " << checkpoint_dir_
                << " yet; starting afresh";
    }
  }
  if (!resume_from.empty()) {
    JEPALAB_RETURN_IF_ERROR(LoadCheckpoint(resume_from, State(), &resumed_));
    outcome_.steps = resumed_.steps;
    outcome_.last_train_loss = resumed_.last_train_loss;
    outcome_.epochs = resumed_.epoch;
    first_epoch = resumed_.epoch + 1;
    stopper.Restore(resumed_.best_val_loss, resumed_.early_stopping_wait);
    objective_->sigreg().set_step(resumed_.sigreg_step);
    if (VqCodebook vq = online_->vq_codebook()) {
      vq->RestoreTotals(resumed_.vq_refreshes, resumed_.vq_reinitialised,
                        resumed_.vq_reinitialised_in_use, resumed_.vq_revivals_survived);
    }
    if (VqCodebook vq = target_.is_empty() ? nullptr : target_->vq_codebook()) {
      vq->RestoreTotals(resumed_.vq_target_refreshes, resumed_.vq_target_reinitialised,
                        resumed_.vq_target_reinitialised_in_use,
                        resumed_.vq_target_revivals_survived);
    }
    LOG(INFO) << context_.run_id << ": resumed from " << resume_from << " after epoch "
              << resumed_.epoch << " and " << resumed_.epoch_batches_done
              << " batches of the next (step " << resumed_.steps << ")";
  }

  train_start_ = Clock::now();
  if (listener_ != nullptr) {
    RunProgress p;
    p.set_step(outcome_.steps);
    p.set_total_steps(outcome_.total_steps);
    p.set_total_epochs(LastEpoch(config_));
    listener_->OnStart(outcome_.device, p);
  }
  for (int32_t epoch = first_epoch; epoch <= LastEpoch(config_); ++epoch) {
    if (t.max_steps() > 0 && outcome_.steps >= t.max_steps()) break;
    outcome_.epochs = epoch;
    double train_loss = 0;
    const Clock::time_point epoch_start = Clock::now();
    absl::StatusOr<bool> trained = TrainEpoch(epoch, &train_loss);
    outcome_.timings.train += SecondsSince(epoch_start);
    JEPALAB_ASSIGN_OR_RETURN(const bool go_on, std::move(trained));
    if (!go_on) break;
    outcome_.last_train_loss = train_loss;
    if (Cancelled()) {
      outcome_.state = RunState::RUN_STATE_CANCELLED;
      outcome_.message = absl::StrCat("cancelled at step ", outcome_.steps, " (epoch ", epoch, ")");
      break;
    }
    const Clock::time_point validation_start = Clock::now();
    const double val_loss = Validate();
    outcome_.timings.validation += SecondsSince(validation_start);
    Report(epoch,
           {{names::kEpoch, epoch}, {names::kTrainLoss, train_loss}, {names::kValLoss, val_loss}});
    SendProgress(epoch);
    if (sink_ != nullptr) sink_->Flush();
    LOG(INFO) << absl::StrFormat("%s: epoch %d/%d step %d train/loss %.4f val/loss %.4f",
                                 context_.run_id, epoch, LastEpoch(config_), outcome_.steps,
                                 train_loss, val_loss);
    if (!std::isfinite(val_loss)) {
      outcome_.state = RunState::RUN_STATE_DIVERGED;
      outcome_.message = absl::StrCat(names::kValLoss, " is not finite after epoch ", epoch,
                                      " (step ", outcome_.steps, ")");
      break;
    }
    stopper.Update(val_loss);
    outcome_.best_val_loss = stopper.best().value_or(val_loss);
    JEPALAB_RETURN_IF_ERROR(Checkpoint(epoch));
    if (stopper.ShouldStop()) {
      outcome_.state = RunState::RUN_STATE_EARLY_STOPPED;
      outcome_.message = absl::StrFormat(
          "val/loss did not improve by more than %g for %d epochs (best %.4f); stopped after epoch "
          "%d",
          es.min_delta(), stopper.wait(), outcome_.best_val_loss, epoch);
      break;
    }
  }
  if (tracker_ && outcome_.state != RunState::RUN_STATE_DIVERGED) {
    const Clock::time_point flush_start = Clock::now();
    auto event = tracker_->Flush();  // the final partial window
    if (event.ok() && event->has_value()) ReportDiagnostics(**event, outcome_.epochs);
    const double flush = SecondsSince(flush_start);  // counted as training time, as in the loop
    outcome_.timings.diagnostics += flush;
    outcome_.timings.train += flush;
  }
  if (outcome_.state == RunState::RUN_STATE_UNSPECIFIED) {
    outcome_.state = RunState::RUN_STATE_SUCCEEDED;
    const double seconds = SecondsSince(train_start_);
    const int64_t done = outcome_.steps - resumed_.steps;
    // Where the time went, in the run's own record: the service's speed is read from here.
    const RunOutcome::Timings& t = outcome_.timings;
    outcome_.message = absl::StrFormat(
        "%d steps in %.1fs (%.2f steps/s); training loop %.1f samples/s over %.1fs (diagnostics "
        "%.1fs, data wait %.1fs), validation %.1fs",
        done, seconds, seconds > 0 ? static_cast<double>(done) / seconds : 0.0,
        t.train > 0 ? static_cast<double>(t.train_samples) / t.train : 0.0, t.train, t.diagnostics,
        t.data_wait, t.validation);
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
