#include "config/trainer_config.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "common/yaml_proto.h"

namespace jepalab::config {
namespace {

using ::jepalab::common::FormatDouble;

// Records the first violated rule; later checks are no-ops once one failed.
class Checker {
 public:
  absl::Status status() const { return status_; }

  void Fail(absl::string_view path, absl::string_view rule, absl::string_view got) {
    if (status_.ok())
      status_ = absl::InvalidArgumentError(absl::StrCat(path, ": ", rule, ", got ", got));
  }

  void Finite(absl::string_view path, double v) {
    if (!std::isfinite(v)) Fail(path, "must be a finite number", FormatDouble(v));
  }
  void Positive(absl::string_view path, double v) {
    Finite(path, v);
    if (!(v > 0)) Fail(path, "must be > 0", FormatDouble(v));
  }
  void NonNegative(absl::string_view path, double v) {
    Finite(path, v);
    if (!(v >= 0)) Fail(path, "must be >= 0", FormatDouble(v));
  }
  // lo <= v <= hi (or < hi when !hi_inclusive).
  void InRange(absl::string_view path, double v, double lo, double hi, bool hi_inclusive = true) {
    Finite(path, v);
    const bool ok = v >= lo && (hi_inclusive ? v <= hi : v < hi);
    if (!ok) {
      Fail(path,
           absl::StrCat("must be in [", FormatDouble(lo), ", ", FormatDouble(hi),
                        hi_inclusive ? "]" : ")"),
           FormatDouble(v));
    }
  }
  void IntRange(absl::string_view path, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      Fail(path, absl::StrCat("must be in [", lo, ", ", hi, "]"), absl::StrCat(v));
  }
  void AtLeast(absl::string_view path, int64_t v, int64_t lo) {
    if (v < lo) Fail(path, absl::StrCat("must be >= ", lo), absl::StrCat(v));
  }
  void OneOf(absl::string_view path, const std::string& v,
             std::initializer_list<const char*> allowed) {
    for (const char* a : allowed) {
      if (v == a) return;
    }
    Fail(path, absl::StrCat("must be one of {", absl::StrJoin(allowed, ", "), "}"),
         absl::StrCat("\"", v, "\""));
  }

 private:
  absl::Status status_;
};

void CheckData(const TrainerConfig& c, Checker& k) {
  const auto& d = c.data();
  k.IntRange("data.context_window", d.context_window(), 1, 64);
  k.IntRange("data.target_offset", d.target_offset(), 1, 64);
  k.InRange("data.validation.split", d.validation().split(), 0, 1, /*hi_inclusive=*/false);
  if (d.validation().has_batch_size())
    k.IntRange("data.validation.batch_size", d.validation().batch_size(), 1, 65536);
  const auto& g = d.generator();
  k.IntRange("data.generator.num_atomic", g.num_atomic(), 0, 10000000);
  k.IntRange("data.generator.num_sequential", g.num_sequential(), 0, 10000000);
  if (g.num_atomic() + g.num_sequential() < 1) {
    k.Fail("data.generator", "num_atomic + num_sequential must be >= 1",
           absl::StrCat(g.num_atomic() + g.num_sequential()));
  }
  k.IntRange("data.generator.min_grid_size", g.min_grid_size(), 1, 30);
  k.IntRange("data.generator.max_grid_size", g.max_grid_size(), g.min_grid_size(), 30);
  k.IntRange("data.generator.min_colors", g.min_colors(), 2, 10);
  k.IntRange("data.generator.max_colors", g.max_colors(), g.min_colors(), 10);
  k.IntRange("data.generator.background", g.background(), 0, 9);
  k.InRange("data.generator.fill_probability", g.fill_probability(), 0, 1);
  k.IntRange("data.generator.max_parameter_retries", g.max_parameter_retries(), 1, 1000);
  k.IntRange("data.generator.max_task_retries", g.max_task_retries(), 1, 1000);
}

void CheckModel(const TrainerConfig& c, Checker& k) {
  const auto& t = c.tokenizer();
  k.IntRange("tokenizer.max_objects", t.max_objects(), 1, 900);
  k.IntRange("tokenizer.max_color_features", t.max_color_features(), 1, 64);
  if (t.connectivity() != 4 && t.connectivity() != 8) {
    k.Fail("tokenizer.connectivity", "must be 4 or 8", absl::StrCat(t.connectivity()));
  }
  for (int i = 0; i < t.background_size(); ++i) {
    k.IntRange(absl::StrCat("tokenizer.background[", i, "]"), t.background(i), 0, 9);
  }

  const auto& e = c.object_encoder();
  k.IntRange("object_encoder.hidden_dim", e.hidden_dim(), 1, 8192);
  k.OneOf("object_encoder.activation", e.activation(), {"gelu", "relu"});
  k.IntRange("object_encoder.relational_layers", e.relational_layers(), 0, 64);
  k.IntRange("object_encoder.relational_heads", e.relational_heads(), 1, 256);
  if (e.relational() && e.relational_layers() > 0 && e.relational_heads() > 0 &&
      e.hidden_dim() % e.relational_heads() != 0) {
    k.Fail("object_encoder.relational_heads",
           absl::StrCat("must divide hidden_dim (", e.hidden_dim(), ")"),
           absl::StrCat(e.relational_heads()));
  }
  k.InRange("object_encoder.relational_dropout", e.relational_dropout(), 0, 1,
            /*hi_inclusive=*/false);
  k.OneOf("object_encoder.vq_mode", e.vq_mode(), {"hard", "gumbel"});
  if (e.vq_enabled()) k.IntRange("object_encoder.num_embeddings", e.num_embeddings(), 1, 1 << 20);
  k.NonNegative("object_encoder.commitment_cost", e.commitment_cost());
  if (e.has_ema_decay())
    k.InRange("object_encoder.ema_decay", e.ema_decay(), 0, 1, /*hi_inclusive=*/false);
  k.AtLeast("object_encoder.vq_refresh_interval", e.vq_refresh_interval(), 1);
  k.InRange("object_encoder.vq_refresh_usage_threshold", e.vq_refresh_usage_threshold(), 0, 1);
  k.Positive("object_encoder.vq_temperature_init", e.vq_temperature_init());
  k.Positive("object_encoder.vq_temperature_min", e.vq_temperature_min());
  k.AtLeast("object_encoder.vq_temperature_anneal_steps", e.vq_temperature_anneal_steps(), 0);
  k.NonNegative("object_encoder.vq_entropy_weight", e.vq_entropy_weight());

  const auto& m = c.model();
  k.IntRange("model.projection_dim", m.projection_dim(), 1, 65536);
  k.IntRange("model.projection_layers", m.projection_layers(), 1, 64);
  k.OneOf("model.context_aggregation", m.context_aggregation(), {"mean", "last", "learned"});
}

void CheckOptimization(const TrainerConfig& c, Checker& k) {
  const auto& o = c.optimizer();
  k.OneOf("optimizer.name", o.name(), {"adam", "adamw"});
  k.Positive("optimizer.lr", o.lr());
  k.NonNegative("optimizer.weight_decay", o.weight_decay());

  const auto& t = c.training();
  k.IntRange("training.batch_size", t.batch_size(), 1, 65536);
  k.IntRange("training.grad_accum_steps", t.grad_accum_steps(), 1, 4096);
  k.IntRange("training.num_workers", t.num_workers(), 0, 256);
  k.IntRange("training.epochs", t.epochs(), 1, 100000);
  k.IntRange("training.checkpoint_interval", t.checkpoint_interval(), 1, 100000);
  if (t.device() != "auto" && t.device() != "cpu" && t.device().rfind("cuda", 0) != 0) {
    k.Fail("training.device", "must be auto, cpu, cuda or cuda:N",
           absl::StrCat("\"", t.device(), "\""));
  }
  k.OneOf("training.mixed_precision", t.mixed_precision(), {"none", "bf16", "fp16"});
  k.NonNegative("training.grad_clip.max_norm", t.grad_clip().max_norm());
  k.Positive("training.grad_clip.norm_type", t.grad_clip().norm_type());
  k.OneOf("training.lr_scheduler.name", t.lr_scheduler().name(), {"cosine", "linear", "constant"});
  k.AtLeast("training.lr_scheduler.warmup_steps", t.lr_scheduler().warmup_steps(), 0);
  k.InRange("training.lr_scheduler.min_lr_scale", t.lr_scheduler().min_lr_scale(), 0, 1);
  k.AtLeast("training.early_stopping.patience", t.early_stopping().patience(), 1);
  k.NonNegative("training.early_stopping.min_delta", t.early_stopping().min_delta());
  k.OneOf("training.early_stopping.mode", t.early_stopping().mode(), {"min", "max"});
  k.IntRange("training.num_threads", t.num_threads(), 0, 1024);
  k.AtLeast("training.max_steps", t.max_steps(), 0);
  k.AtLeast("training.checkpoint_every_steps", t.checkpoint_every_steps(), 0);
  k.IntRange("training.stop_after_epochs", t.stop_after_epochs(), 0, t.epochs());

  const auto& a = c.augmentations();
  k.InRange("augmentations.mask_ratio", a.mask_ratio(), 0, 1);
  k.IntRange("augmentations.random_crop_radius", a.random_crop_radius(), 0, 30);
  k.NonNegative("augmentations.gaussian_noise_std", a.gaussian_noise_std());
  k.IntRange("augmentations.min_grid_size_for_crop", a.min_grid_size_for_crop(), 1, 30);
  k.InRange("augmentations.object_dropout", a.object_dropout(), 0, 1);
}

void CheckLosses(const TrainerConfig& c, Checker& k) {
  const auto& l = c.loss();
  k.OneOf("loss.objective", l.objective(), {"infonce", "sigreg"});
  k.Positive("loss.temperature", l.temperature());
  if (l.has_temperature_init()) k.Positive("loss.temperature_init", l.temperature_init());
  k.Positive("loss.temperature_min", l.temperature_min());
  k.Positive("loss.temperature_max", l.temperature_max());
  if (l.temperature_max() < l.temperature_min()) {
    k.Fail("loss.temperature_max",
           absl::StrCat("must be >= temperature_min (", FormatDouble(l.temperature_min()), ")"),
           FormatDouble(l.temperature_max()));
  }
  if (l.temperature_bounds_size() != 0) {
    if (l.temperature_bounds_size() != 2) {
      k.Fail("loss.temperature_bounds", "must be [min, max]",
             absl::StrCat(l.temperature_bounds_size(), " values"));
    } else {
      k.Positive("loss.temperature_bounds[0]", l.temperature_bounds(0));
      if (!(l.temperature_bounds(1) >= l.temperature_bounds(0))) {
        k.Fail("loss.temperature_bounds[1]", "must be >= temperature_bounds[0]",
               FormatDouble(l.temperature_bounds(1)));
      }
    }
  }
  k.IntRange("loss.queue_size", l.queue_size(), 0, 1 << 22);
  k.IntRange("loss.projection_dim", l.projection_dim(), 1, 65536);
  k.IntRange("loss.projection_layers", l.projection_layers(), 1, 64);
  k.OneOf("loss.projection_activation", l.projection_activation(), {"relu", "gelu"});
  k.InRange("loss.target_ema_decay", l.target_ema_decay(), 0, 1);

  const auto& s = c.sigreg();
  k.NonNegative("sigreg.weight", s.weight());
  k.IntRange("sigreg.num_slices", s.num_slices(), 1, 65536);
  k.IntRange("sigreg.num_points", s.num_points(), 3, 1025);
  if (s.num_points() % 2 == 0)
    k.Fail("sigreg.num_points", "must be odd", absl::StrCat(s.num_points()));

  const auto& inv = c.invariance();
  k.NonNegative("invariance.color_weight", inv.color_weight());
  k.NonNegative("invariance.translation_weight", inv.translation_weight());
  k.NonNegative("invariance.translation_max_delta", inv.translation_max_delta());
  k.NonNegative("invariance.symmetry_weight", inv.symmetry_weight());
  for (int i = 0; i < inv.symmetry_modes_size(); ++i) {
    if (inv.symmetry_modes(i).empty())
      k.Fail(absl::StrCat("invariance.symmetry_modes[", i, "]"), "must not be empty", "\"\"");
  }
  k.IntRange("invariance.palette_size", inv.palette_size(), 1, 64);
  k.Finite("invariance.coordinate_min", inv.coordinate_min());
  if (!(inv.coordinate_max() > inv.coordinate_min())) {
    k.Fail("invariance.coordinate_max", "must be > coordinate_min",
           FormatDouble(inv.coordinate_max()));
  }

  k.NonNegative("relational_loss.weight", c.relational_loss().weight());
  k.NonNegative("relational_loss.context_self_weight", c.relational_loss().context_self_weight());

  const auto& em = c.diagnostics().embedding_metrics();
  k.AtLeast("diagnostics.embedding_metrics.interval", em.interval(), 1);
  if (em.has_log_interval())
    k.AtLeast("diagnostics.embedding_metrics.log_interval", em.log_interval(), 1);
  k.IntRange("diagnostics.embedding_metrics.max_samples", em.max_samples(), 2, 1 << 20);

  k.AtLeast("debug.fault_at_step", c.debug().fault_at_step(), 0);
  k.OneOf("debug.fault", c.debug().fault(),
          {"none", "abort", "segfault", "torch_error", "nan", "hang"});
  k.AtLeast("debug.fault_on_attempt", c.debug().fault_on_attempt(), 0);
  k.OneOf("debug.fault_term", c.debug().fault_term(),
          {"", "info_nce", "sigreg", "invariance", "relational", "vq", "l2"});
}

// Reference-compatibility switches (docs/reference_compat.md).
void CheckCompat(const TrainerConfig& c, Checker& k) {
  const auto& x = c.compat();
  k.OneOf("compat.vq_refresh_threshold", x.vq_refresh_threshold(),
          {"total_mass_share", "relative_to_mean"});
  k.OneOf("compat.vq_update_timing", x.vq_update_timing(), {"per_call", "per_optimizer_step"});
  k.OneOf("compat.vq_ema_init", x.vq_ema_init(), {"codebook_copy", "zero"});
  k.OneOf("compat.vq_revival", x.vq_revival(), {"reference", "consistent"});
  // relative_to_mean compares c_k with threshold · mean(c); a threshold of 1 or more would call
  // every code at or below the mean dead.
  if (x.vq_refresh_threshold() == "relative_to_mean" &&
      c.object_encoder().vq_refresh_usage_threshold() >= 1) {
    k.Fail("object_encoder.vq_refresh_usage_threshold",
           "must be < 1 with compat.vq_refresh_threshold relative_to_mean",
           FormatDouble(c.object_encoder().vq_refresh_usage_threshold()));
  }
}

}  // namespace

absl::Status ValidateTrainerConfig(const TrainerConfig& config) {
  Checker checker;
  CheckData(config, checker);
  CheckModel(config, checker);
  CheckOptimization(config, checker);
  CheckLosses(config, checker);
  CheckCompat(config, checker);
  return checker.status();
}

absl::StatusOr<TrainerConfig> LoadTrainerConfig(absl::string_view yaml_text,
                                                absl::string_view source_name,
                                                const std::vector<std::string>& overrides) {
  TrainerConfig config;
  common::FieldLines lines;
  JEPALAB_RETURN_IF_ERROR(
      common::ParseYamlInto(yaml_text, source_name, overrides, &config, &lines));
  JEPALAB_RETURN_IF_ERROR(
      common::AnnotateWithLine(ValidateTrainerConfig(config), source_name, lines));
  return config;
}

absl::StatusOr<TrainerConfig> LoadTrainerConfigFile(const std::string& path,
                                                    const std::vector<std::string>& overrides) {
  JEPALAB_ASSIGN_OR_RETURN(const std::string text, common::ReadFile(path));
  return LoadTrainerConfig(text, path, overrides);
}

std::string ResolvedConfigYaml(const TrainerConfig& config) {
  return common::MessageToYaml(config);
}

std::string ConfigHash(const TrainerConfig& config) {
  return common::Sha256Hex(ResolvedConfigYaml(config));
}

int64_t PlannedOptimizerSteps(const TrainerConfig& config, int64_t batches_per_epoch) {
  const int64_t accum = config.training().grad_accum_steps();
  const int64_t per_epoch = (batches_per_epoch + accum - 1) / accum;
  int64_t total = per_epoch * config.training().epochs();
  if (config.training().max_steps() > 0 && config.training().max_steps() < total) {
    total = config.training().max_steps();
  }
  return total;
}

int32_t LastEpoch(const TrainerConfig& config) {
  const auto& t = config.training();
  return t.stop_after_epochs() > 0 ? t.stop_after_epochs() : t.epochs();
}

int64_t OptimizerStepsToRun(const TrainerConfig& config, int64_t batches_per_epoch) {
  const int64_t accum = config.training().grad_accum_steps();
  const int64_t per_epoch = (batches_per_epoch + accum - 1) / accum;
  return std::min(PlannedOptimizerSteps(config, batches_per_epoch), per_epoch * LastEpoch(config));
}

}  // namespace jepalab::config
