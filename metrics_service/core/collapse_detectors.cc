#include "metrics_service/core/collapse_detectors.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/metric_names.h"
#include "common/status_macros.h"

namespace jepalab::metrics {
namespace {

namespace names = ::jepalab::metric_names;
using config::v1::CollapseDetectorsConfig;

// `reference` moved by `ratio` - 1 of its magnitude, so ratios work for negative values too.
double Scaled(double reference, double ratio) {
  return reference + std::abs(reference) * (ratio - 1);
}

std::string Fmt(double value) { return absl::StrFormat("%g", value); }

}  // namespace

std::vector<std::string> CollapseDetectorInputs(const CollapseDetectorsConfig& config) {
  std::vector<std::string> inputs;
  for (const char* encoder : kDetectorEncoders) {
    inputs.push_back(absl::StrCat(names::kDiagnosticsPrefix, encoder, "/", config.rank().stat()));
    inputs.push_back(
        absl::StrCat(names::kDiagnosticsPrefix, encoder, "/", config.isotropy().stat()));
  }
  inputs.push_back(names::kVqUsageRatio);
  inputs.push_back(names::kValLoss);
  inputs.push_back(config.loss_plateau().metric());
  if (config.loss_plateau().metric() != names::kLossTotal) inputs.push_back(names::kLossTotal);
  inputs.push_back(names::kGradNorm);
  return inputs;
}

RunCollapseDetectors::RunCollapseDetectors(std::string run_id,
                                           const CollapseDetectorsConfig& config)
    : run_id_(std::move(run_id)), config_(config) {}

RunCollapseDetectors::Detector& RunCollapseDetectors::DetectorFor(absl::string_view indicator,
                                                                  absl::string_view encoder) {
  auto [it, inserted] =
      detectors_.try_emplace({std::string(indicator), std::string(encoder)}, Detector{});
  if (inserted) {
    v1::DetectorStatus& status = it->second.status;
    status.set_indicator(std::string(indicator));
    status.set_encoder(std::string(encoder));
    status.set_state(v1::COLLAPSE_STATE_UNSPECIFIED);
    status.set_first_warning_step(-1);
    status.set_first_collapse_step(-1);
    status.set_first_collapse_unix_ms(-1);
  }
  return it->second;
}

void RunCollapseDetectors::SetState(Detector& detector, v1::CollapseState state, int64_t step,
                                    double value, int64_t unix_ms, std::string reason,
                                    std::vector<v1::CollapseEvent>* events) {
  v1::DetectorStatus& status = detector.status;
  const v1::CollapseState previous = status.state();
  status.set_last_step(step);
  if (state == previous) return;  // value and reason describe the change that set the state
  status.set_state(state);
  status.set_last_value(value);
  status.set_reason(reason);
  bool first = false;
  if (state == v1::COLLAPSE_STATE_WARNING && status.first_warning_step() < 0) {
    status.set_first_warning_step(step);
    first = true;
  }
  if (state == v1::COLLAPSE_STATE_COLLAPSED && status.first_collapse_step() < 0) {
    status.set_first_collapse_step(step);
    status.set_first_collapse_unix_ms(unix_ms);
    first = true;
  }
  if (previous == v1::COLLAPSE_STATE_UNSPECIFIED && state == v1::COLLAPSE_STATE_OK) return;
  v1::CollapseEvent& event = events->emplace_back();
  event.set_run_id(run_id_);
  event.set_indicator(status.indicator());
  event.set_encoder(status.encoder());
  event.set_previous_state(previous);
  event.set_state(state);
  event.set_step(step);
  event.set_unix_ms(unix_ms);
  event.set_value(value);
  event.set_reason(std::move(reason));
  event.set_first_trigger(first);
}

void RunCollapseDetectors::ObserveBand(absl::string_view indicator, absl::string_view encoder,
                                       absl::string_view stat, double collapsed_below,
                                       double healthy_above, int64_t step, double value,
                                       int64_t unix_ms, std::vector<v1::CollapseEvent>* events) {
  Detector& detector = DetectorFor(indicator, encoder);
  if (value < collapsed_below) {
    SetState(detector, v1::COLLAPSE_STATE_COLLAPSED, step, value, unix_ms,
             absl::StrCat(encoder, " ", stat, " ", Fmt(value), " < ", Fmt(collapsed_below)),
             events);
  } else if (value > healthy_above) {
    SetState(detector, v1::COLLAPSE_STATE_OK, step, value, unix_ms,
             absl::StrCat(encoder, " ", stat, " ", Fmt(value), " > ", Fmt(healthy_above)), events);
  } else {
    SetState(detector, v1::COLLAPSE_STATE_WARNING, step, value, unix_ms,
             absl::StrCat(encoder, " ", stat, " ", Fmt(value), " in [", Fmt(collapsed_below), ", ",
                          Fmt(healthy_above), "]"),
             events);
  }
}

void RunCollapseDetectors::ObserveIsotropy(absl::string_view encoder, int64_t step, double value,
                                           int64_t unix_ms,
                                           std::vector<v1::CollapseEvent>* events) {
  const auto& isotropy = config_.isotropy();
  if (!isotropy.relative_to_early()) {
    ObserveBand(kIndicatorEmbeddingIsotropy, encoder, isotropy.stat(), isotropy.collapsed_below(),
                isotropy.healthy_above(), step, value, unix_ms, events);
    return;
  }
  Detector& detector = DetectorFor(kIndicatorEmbeddingIsotropy, encoder);
  if (!detector.has_reference) {
    detector.has_reference = true;
    detector.reference = value;  // the early window: the encoder's first point
  }
  const double early = detector.reference;
  const double fraction = early > 0 ? value / early : 1;
  const std::string what = absl::StrCat(encoder, " ", isotropy.stat(), " ", Fmt(value), " = ",
                                        Fmt(fraction), " x early ", Fmt(early));
  if (fraction < isotropy.collapsed_fraction_of_early()) {
    SetState(detector, v1::COLLAPSE_STATE_COLLAPSED, step, value, unix_ms,
             absl::StrCat(what, " < ", Fmt(isotropy.collapsed_fraction_of_early())), events);
  } else if (fraction > isotropy.healthy_fraction_of_early()) {
    SetState(detector, v1::COLLAPSE_STATE_OK, step, value, unix_ms,
             absl::StrCat(what, " > ", Fmt(isotropy.healthy_fraction_of_early())), events);
  } else {
    SetState(detector, v1::COLLAPSE_STATE_WARNING, step, value, unix_ms,
             absl::StrCat(what, " in [", Fmt(isotropy.collapsed_fraction_of_early()), ", ",
                          Fmt(isotropy.healthy_fraction_of_early()), "]"),
             events);
  }
}

void RunCollapseDetectors::ObserveCodebookUsage(int64_t step, double value, int64_t unix_ms,
                                                std::vector<v1::CollapseEvent>* events) {
  const auto& config = config_.codebook_usage();
  Detector& detector = DetectorFor(kIndicatorCodebookUsage, "");
  if (!detector.has_reference || value > detector.reference) {
    detector.has_reference = true;
    detector.reference = value;  // best usage so far
  }
  const double falling_below = detector.reference * config.falling_fraction();
  if (value < config.collapsed_below()) {
    SetState(detector, v1::COLLAPSE_STATE_COLLAPSED, step, value, unix_ms,
             absl::StrCat("usage ratio ", Fmt(value), " < ", Fmt(config.collapsed_below())),
             events);
  } else if (value < config.warning_below()) {
    SetState(detector, v1::COLLAPSE_STATE_WARNING, step, value, unix_ms,
             absl::StrCat("usage ratio ", Fmt(value), " < ", Fmt(config.warning_below())), events);
  } else if (value < falling_below) {
    SetState(detector, v1::COLLAPSE_STATE_WARNING, step, value, unix_ms,
             absl::StrCat("usage ratio ", Fmt(value), " fell below ",
                          Fmt(config.falling_fraction()), " of its best ", Fmt(detector.reference)),
             events);
  } else {
    SetState(detector, v1::COLLAPSE_STATE_OK, step, value, unix_ms,
             absl::StrCat("usage ratio ", Fmt(value)), events);
  }
}

void RunCollapseDetectors::ObserveValidationLoss(int64_t step, double value, int64_t unix_ms,
                                                 std::vector<v1::CollapseEvent>* events) {
  const auto& config = config_.validation_spike();
  Detector& detector = DetectorFor(kIndicatorValidationSpike, "");
  if (!detector.has_reference) {
    detector.has_reference = true;
    detector.reference = value;  // best (lowest) validation loss so far
  }
  const double best = detector.reference;
  if (value > Scaled(best, config.collapsed_ratio())) {
    SetState(detector, v1::COLLAPSE_STATE_COLLAPSED, step, value, unix_ms,
             absl::StrCat("val/loss ", Fmt(value), " > ", Fmt(config.collapsed_ratio()), " x best ",
                          Fmt(best)),
             events);
  } else if (value > Scaled(best, config.warning_ratio())) {
    SetState(detector, v1::COLLAPSE_STATE_WARNING, step, value, unix_ms,
             absl::StrCat("val/loss ", Fmt(value), " > ", Fmt(config.warning_ratio()), " x best ",
                          Fmt(best)),
             events);
  } else {
    SetState(detector, v1::COLLAPSE_STATE_OK, step, value, unix_ms,
             absl::StrCat("val/loss ", Fmt(value), ", best ", Fmt(best)), events);
  }
  if (value < detector.reference) detector.reference = value;
}

void RunCollapseDetectors::ObservePlateau(int64_t step, double value, int64_t unix_ms,
                                          std::vector<v1::CollapseEvent>* events) {
  const auto& config = config_.loss_plateau();
  Detector& detector = DetectorFor(kIndicatorLossPlateau, "");
  if (!detector.has_reference) {
    detector.has_reference = true;
    detector.reference = value;
    detector.improvement_step = step;
  } else if (value < Scaled(detector.reference, 1 - config.min_relative_improvement())) {
    detector.reference = value;  // a significant improvement restarts the window
    detector.improvement_step = step;
  } else if (value < detector.reference) {
    detector.reference = value;  // a tiny improvement moves the best, not the window
  }
  const double best = detector.reference;
  if (value > Scaled(best, config.rise_ratio())) {
    SetState(detector, v1::COLLAPSE_STATE_COLLAPSED, step, value, unix_ms,
             absl::StrCat(config.metric(), " ", Fmt(value), " rose above ",
                          Fmt(config.rise_ratio()), " x best ", Fmt(best)),
             events);
  } else if (step - detector.improvement_step >= config.window_steps()) {
    SetState(detector, v1::COLLAPSE_STATE_WARNING, step, value, unix_ms,
             absl::StrCat(config.metric(), " has not improved by ",
                          Fmt(config.min_relative_improvement()), " since step ",
                          detector.improvement_step),
             events);
  } else {
    SetState(detector, v1::COLLAPSE_STATE_OK, step, value, unix_ms,
             absl::StrCat(config.metric(), " ", Fmt(value), ", best ", Fmt(best)), events);
  }
}

void RunCollapseDetectors::ObserveCeiling(absl::string_view name, double ceiling, int64_t step,
                                          double value, int64_t unix_ms,
                                          std::vector<v1::CollapseEvent>* events) {
  Detector& detector = DetectorFor(kIndicatorDivergence, "");
  // Sticky: a run that diverged once stays diverged.
  if (detector.status.state() == v1::COLLAPSE_STATE_COLLAPSED) {
    detector.status.set_last_step(std::max(detector.status.last_step(), step));
    return;
  }
  if (value > ceiling) {
    SetState(detector, v1::COLLAPSE_STATE_COLLAPSED, step, value, unix_ms,
             absl::StrCat(name, " ", Fmt(value), " > ", Fmt(ceiling)), events);
  } else {
    SetState(detector, v1::COLLAPSE_STATE_OK, step, value, unix_ms,
             absl::StrCat(name, " ", Fmt(value)), events);
  }
}

void RunCollapseDetectors::Observe(absl::string_view name, int64_t step, double value,
                                   int64_t unix_ms, std::vector<v1::CollapseEvent>* events) {
  auto [last, inserted] = last_step_by_name_.try_emplace(std::string(name), step);
  if (!inserted) {
    if (step <= last->second) return;  // re-sent or late: already evaluated
    last->second = step;
  }
  max_step_ = std::max(max_step_, step);

  for (const char* encoder : kDetectorEncoders) {
    const std::string prefix = absl::StrCat(names::kDiagnosticsPrefix, encoder, "/");
    if (name == prefix + config_.rank().stat()) {
      ObserveBand(kIndicatorEmbeddingRank, encoder, config_.rank().stat(),
                  config_.rank().collapsed_below(), config_.rank().healthy_above(), step, value,
                  unix_ms, events);
    } else if (name == prefix + config_.isotropy().stat()) {
      ObserveIsotropy(encoder, step, value, unix_ms, events);
    }
  }
  if (name == names::kVqUsageRatio) ObserveCodebookUsage(step, value, unix_ms, events);
  if (name == names::kValLoss) ObserveValidationLoss(step, value, unix_ms, events);
  if (name == config_.loss_plateau().metric()) ObservePlateau(step, value, unix_ms, events);
  if (name == names::kLossTotal) {
    ObserveCeiling(name, config_.divergence().max_loss(), step, value, unix_ms, events);
  }
  if (name == names::kGradNorm) {
    ObserveCeiling(name, config_.divergence().max_grad_norm(), step, value, unix_ms, events);
  }
}

void RunCollapseDetectors::ObserveRunState(common::v1::RunState state, int64_t unix_ms,
                                           std::vector<v1::CollapseEvent>* events) {
  if (state != common::v1::RUN_STATE_DIVERGED) return;
  Detector& detector = DetectorFor(kIndicatorDivergence, "");
  if (detector.status.state() == v1::COLLAPSE_STATE_COLLAPSED) return;
  SetState(detector, v1::COLLAPSE_STATE_COLLAPSED, max_step_, 0, unix_ms,
           "run state DIVERGED (a loss term became NaN/Inf)", events);
}

std::vector<v1::DetectorStatus> RunCollapseDetectors::Statuses() const {
  std::vector<v1::DetectorStatus> statuses;
  statuses.reserve(detectors_.size());
  for (const auto& [key, detector] : detectors_) statuses.push_back(detector.status);
  return statuses;
}

}  // namespace jepalab::metrics
