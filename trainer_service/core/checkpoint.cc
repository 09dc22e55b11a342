#include "trainer_service/core/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace jepalab::trainer {
namespace {

// 2 added the mid-epoch position (epoch_batches_done, epoch_loss_sum); 1 is read as an epoch end.
// 3 added the target VQ's cumulative refresh counters (0 when reading 1 or 2).
constexpr int64_t kFormatVersion = 3;

void WriteInt(torch::serialize::OutputArchive& a, const std::string& key, int64_t v) {
  a.write(key, torch::tensor(v, torch::kInt64));
}
int64_t ReadInt(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<int64_t>();
}
void WriteDouble(torch::serialize::OutputArchive& a, const std::string& key, double v) {
  a.write(key, torch::tensor(v, torch::kFloat64));
}
double ReadDouble(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<double>();
}
int64_t CudaDevices() {
  return torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
}
at::Generator CudaGenerator(int64_t index) {
  return at::globalContext().defaultGenerator(
      c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index)));
}

void WriteModule(torch::serialize::OutputArchive& a, const std::string& key,
                 const torch::nn::Module& m) {
  torch::serialize::OutputArchive sub;
  m.save(sub);
  a.write(key, sub);
}
void ReadModule(torch::serialize::InputArchive& a, const std::string& key, torch::nn::Module& m) {
  torch::serialize::InputArchive sub;
  a.read(key, sub);
  m.load(sub);
}

}  // namespace

std::string LatestCheckpointPath(const std::string& dir) {
  return absl::StrCat(dir, "/checkpoint_latest.pt");
}
std::string EpochCheckpointPath(const std::string& dir, int32_t epoch) {
  return absl::StrFormat("%s/checkpoint_epoch_%04d.pt", dir, epoch);
}

absl::Status SaveCheckpoint(const std::string& path, const TrainingState& s,
                            const TrainingCounters& c) {
  try {
    torch::serialize::OutputArchive a;
    WriteInt(a, "format_version", kFormatVersion);
    WriteModule(a, "online", *s.online);
    if (s.target != nullptr) WriteModule(a, "target", *s.target);
    a.write("log_temperature", s.log_temperature->detach());
    torch::serialize::OutputArchive opt;
    s.optimizer->save(opt);
    a.write("optimizer", opt);
    a.write("queue/buffer", s.queue->buffer());
    WriteInt(a, "queue/ptr", s.queue->ptr());
    WriteInt(a, "queue/fill", s.queue->fill());
    WriteInt(a, "steps", c.steps);
    WriteInt(a, "epoch", c.epoch);
    WriteInt(a, "early_stopping/has_best", c.best_val_loss.has_value() ? 1 : 0);
    WriteDouble(a, "early_stopping/best", c.best_val_loss.value_or(0.0));
    WriteInt(a, "early_stopping/wait", c.early_stopping_wait);
    WriteInt(a, "sigreg_step", c.sigreg_step);
    WriteDouble(a, "last_train_loss", c.last_train_loss);
    WriteInt(a, "vq/refreshes", c.vq_refreshes);
    WriteInt(a, "vq/reinitialised", c.vq_reinitialised);
    WriteInt(a, "vq/reinitialised_in_use", c.vq_reinitialised_in_use);
    WriteInt(a, "vq/revivals_survived", c.vq_revivals_survived);
    WriteInt(a, "vq_target/refreshes", c.vq_target_refreshes);
    WriteInt(a, "vq_target/reinitialised", c.vq_target_reinitialised);
    WriteInt(a, "vq_target/reinitialised_in_use", c.vq_target_reinitialised_in_use);
    WriteInt(a, "vq_target/revivals_survived", c.vq_target_revivals_survived);
    WriteInt(a, "epoch/batches_done", c.epoch_batches_done);
    WriteDouble(a, "epoch/loss_sum", c.epoch_loss_sum);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      a.write("rng/cpu", gen.get_state());
    }
    for (int64_t i = 0; i < CudaDevices(); ++i) {  // torch::dropout's masks on CUDA come from these
      at::Generator gen = CudaGenerator(i);
      std::lock_guard<std::mutex> lock(gen.mutex());
      a.write(absl::StrCat("rng/cuda/", i), gen.get_state());
    }
    const std::string tmp = path + ".tmp";
    a.save_to(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("checkpoint: cannot rename ", tmp, " to ", path));
    }
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("checkpoint: writing ", path, ": ", e.what_without_backtrace()));
  }
}

absl::Status LoadCheckpoint(const std::string& path, const TrainingState& s, TrainingCounters* c) {
  if (!std::ifstream(path).good())
    return absl::NotFoundError(absl::StrCat("checkpoint: cannot open ", path));
  try {
    torch::serialize::InputArchive a;
    a.load_from(path);
    const int64_t version = ReadInt(a, "format_version");
    if (version < 1 || version > kFormatVersion) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", path, ": unknown format version"));
    }
    ReadModule(a, "online", *s.online);
    if (s.target != nullptr) ReadModule(a, "target", *s.target);
    torch::Tensor log_tau;
    a.read("log_temperature", log_tau);
    {
      torch::NoGradGuard no_grad;
      s.log_temperature->copy_(log_tau);
    }
    torch::serialize::InputArchive opt;
    a.read("optimizer", opt);
    s.optimizer->load(opt);
    torch::Tensor queue;
    a.read("queue/buffer", queue);
    s.queue->Restore(queue, ReadInt(a, "queue/ptr"), ReadInt(a, "queue/fill"));
    c->steps = ReadInt(a, "steps");
    c->epoch = static_cast<int32_t>(ReadInt(a, "epoch"));
    c->best_val_loss.reset();
    if (ReadInt(a, "early_stopping/has_best") != 0)
      c->best_val_loss = ReadDouble(a, "early_stopping/best");
    c->early_stopping_wait = static_cast<int32_t>(ReadInt(a, "early_stopping/wait"));
    c->sigreg_step = ReadInt(a, "sigreg_step");
    c->last_train_loss = ReadDouble(a, "last_train_loss");
    c->vq_refreshes = ReadInt(a, "vq/refreshes");
    c->vq_reinitialised = ReadInt(a, "vq/reinitialised");
    c->vq_reinitialised_in_use = ReadInt(a, "vq/reinitialised_in_use");
    c->vq_revivals_survived = ReadInt(a, "vq/revivals_survived");
    const bool has_target_vq = version >= 3;
    c->vq_target_refreshes = has_target_vq ? ReadInt(a, "vq_target/refreshes") : 0;
    c->vq_target_reinitialised = has_target_vq ? ReadInt(a, "vq_target/reinitialised") : 0;
    c->vq_target_reinitialised_in_use =
        has_target_vq ? ReadInt(a, "vq_target/reinitialised_in_use") : 0;
    c->vq_target_revivals_survived = has_target_vq ? ReadInt(a, "vq_target/revivals_survived") : 0;
    c->epoch_batches_done = version >= 2 ? ReadInt(a, "epoch/batches_done") : 0;
    c->epoch_loss_sum = version >= 2 ? ReadDouble(a, "epoch/loss_sum") : 0.0;
    torch::Tensor rng;
    a.read("rng/cpu", rng);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
    for (int64_t i = 0; i < CudaDevices(); ++i) {  // absent in checkpoints written without CUDA
      torch::Tensor cuda_rng;
      if (!a.try_read(absl::StrCat("rng/cuda/", i), cuda_rng)) continue;
      at::Generator gen = CudaGenerator(i);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(cuda_rng);
    }
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint ", path, " does not match this run: ", e.what_without_backtrace()));
  }
}

}  // namespace jepalab::trainer
