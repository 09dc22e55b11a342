#include "scheduler_service/core/verdict.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/metric_names.h"
#include "common/yaml_flatten.h"
#include "config/plan.h"

namespace jepalab::scheduler {

using ::jepalab::config::BranchChoice;
using ::jepalab::config::ChooseBranch;
using ::jepalab::config::FindStage;
using ::jepalab::config::PlanRun;
using ::jepalab::config::PlanStage;
using ::jepalab::config::ValidatePlan;
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::config::v1::PlanConfig;
using ::jepalab::config::v1::PlanCriteria;
using ::jepalab::config::v1::PlanEffectConfig;
using ::jepalab::metrics::v1::Series;
using ::jepalab::metrics::v1::SeriesPoint;

std::vector<SeriesPoint> Points(const RunHistory& run, absl::string_view name) {
  std::vector<SeriesPoint> points;
  for (const Series& series : run.series) {
    if (series.name() == name) points.assign(series.points().begin(), series.points().end());
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const SeriesPoint& a, const SeriesPoint& b) { return a.step() < b.step(); });
  return points;
}

std::string Num(double value) { return absl::StrFormat("%.4g", value); }

int64_t LastStep(const RunHistory& run) {
  int64_t last = -1;
  for (const Series& series : run.series) {
    for (const SeriesPoint& point : series.points()) last = std::max(last, point.step());
  }
  return last;
}

// Failure candidates, collected while checking; the primary one is chosen by priority.
struct Failures {
  int64_t spike_step = -1;
  bool not_decreasing = false;
  int64_t collapse_step = -1;
  bool no_data = false;

  void Collapse(int64_t step) {
    if (collapse_step < 0 || step < collapse_step) collapse_step = step;
  }
};

// A diagnostics criterion that could not be checked: a failure with require_diagnostics, else a
// note.
void Unchecked(const std::string& what, const PlanCriteria& criteria, RunVerdict& verdict,
               Failures& failures) {
  if (criteria.require_diagnostics()) {
    failures.no_data = true;
    verdict.reasons.push_back(what);
  } else {
    verdict.notes.push_back(what);
  }
}

void CheckValidationLoss(const RunHistory& run, const PlanCriteria& criteria, RunVerdict& verdict,
                         Failures& failures) {
  const std::vector<SeriesPoint> points = Points(run, metric_names::kValLoss);
  if (!points.empty()) verdict.final_val_loss = points.back().value();
  if (points.size() < 2) {
    failures.no_data = true;
    verdict.reasons.push_back(absl::StrCat(metric_names::kValLoss, " has ", points.size(),
                                           " points; at least 2 are needed to judge it"));
    return;
  }
  double best = points[0].value();
  bool drift_reported = false;
  for (size_t i = 1; i < points.size(); ++i) {
    const double value = points[i].value();
    const int64_t step = points[i].step();
    // Thresholds relative to the best earlier value, also right for a loss that is <= 0.
    const double spike_at = best + std::abs(best) * (criteria.spike_factor() - 1);
    const double drift_at = best + std::abs(best) * criteria.val_loss_tolerance();
    if (!std::isfinite(value) || value > spike_at) {
      if (failures.spike_step < 0) {
        failures.spike_step = step;
        verdict.reasons.push_back(absl::StrCat("validation spike at step ", step, ": val/loss ",
                                               Num(value), " > ", Num(criteria.spike_factor()),
                                               " x best earlier ", Num(best)));
      }
    } else if (value > drift_at && !drift_reported) {
      failures.not_decreasing = true;
      drift_reported = true;
      verdict.reasons.push_back(
          absl::StrCat("val/loss rose to ", Num(value), " at step ", step, ", more than ",
                       Num(100 * criteria.val_loss_tolerance()), "% above its best ", Num(best)));
    }
    if (std::isfinite(value)) best = std::min(best, value);
  }
  if (!(points.back().value() < points.front().value())) {
    failures.not_decreasing = true;
    verdict.reasons.push_back(
        absl::StrCat("val/loss did not decrease: ", Num(points.front().value()), " at step ",
                     points.front().step(), " -> ", Num(points.back().value()), " at step ",
                     points.back().step()));
  }
}

std::string DiagnosticName(absl::string_view encoder, absl::string_view stat) {
  return absl::StrCat(metric_names::kDiagnosticsPrefix, encoder, "/", stat);
}

// The points of a diagnostics series from warmup_steps on, in step order.
std::vector<SeriesPoint> JudgedPoints(const RunHistory& run, const PlanCriteria& criteria,
                                      absl::string_view encoder, absl::string_view stat) {
  std::vector<SeriesPoint> points;
  for (const SeriesPoint& point : Points(run, DiagnosticName(encoder, stat))) {
    if (point.step() >= criteria.warmup_steps()) points.push_back(point);
  }
  return points;
}

// Checks scale x diagnostics/<encoder>/<stat> >= threshold from warmup on (reported as `label`);
// returns the minimum seen (scaled).
std::optional<double> CheckDiagnostic(const RunHistory& run, const PlanCriteria& criteria,
                                      const std::vector<std::string>& encoders,
                                      absl::string_view stat, std::optional<double> threshold,
                                      RunVerdict& verdict, Failures& failures, double scale = 1,
                                      absl::string_view label = "") {
  if (label.empty()) label = stat;
  std::optional<double> minimum;
  for (const std::string& encoder : encoders) {
    const std::string name = DiagnosticName(encoder, stat);
    std::vector<SeriesPoint> points = Points(run, name);
    for (SeriesPoint& point : points) point.set_value(scale * point.value());
    bool judged = false;
    for (const SeriesPoint& point : points) {
      if (point.step() < criteria.warmup_steps()) continue;
      judged = true;
      if (!minimum || point.value() < *minimum) minimum = point.value();
    }
    if (!threshold) continue;
    if (!judged) {
      Unchecked(absl::StrCat(name, ": no points after warmup step ", criteria.warmup_steps(),
                             ", not checked"),
                criteria, verdict, failures);
      continue;
    }
    for (const SeriesPoint& point : points) {
      if (point.step() < criteria.warmup_steps()) continue;
      if (!(point.value() >= *threshold)) {
        failures.Collapse(point.step());
        verdict.reasons.push_back(absl::StrCat(encoder, " ", label, " ", Num(point.value()), " < ",
                                               Num(*threshold), " at step ", point.step()));
        break;
      }
    }
  }
  return minimum;
}

// RankMe >= fraction x its early value (the highest of the first early_window_points points from
// warmup on), per encoder.
void CheckRankMeFractionOfEarly(const RunHistory& run, const PlanCriteria& criteria,
                                const std::vector<std::string>& encoders, RunVerdict& verdict,
                                Failures& failures) {
  if (!criteria.has_min_rankme_fraction_of_early()) return;
  const double fraction = criteria.min_rankme_fraction_of_early();
  for (const std::string& encoder : encoders) {
    const std::vector<SeriesPoint> points =
        JudgedPoints(run, criteria, encoder, metric_names::kStatRankMe);
    const size_t window = static_cast<size_t>(criteria.early_window_points());
    if (points.size() <= window) {
      Unchecked(absl::StrCat(DiagnosticName(encoder, metric_names::kStatRankMe), ": ",
                             points.size(), " points after warmup, more than the early window's ",
                             window, " are needed; fraction of early not checked"),
                criteria, verdict, failures);
      continue;
    }
    double early = points[0].value();
    for (size_t i = 1; i < window; ++i) early = std::max(early, points[i].value());
    for (const SeriesPoint& point : points) {
      if (!(point.value() >= fraction * early)) {
        failures.Collapse(point.step());
        verdict.reasons.push_back(absl::StrCat(encoder, " rankme ", Num(point.value()), " < ",
                                               Num(fraction), " x early ", Num(early), " = ",
                                               Num(fraction * early), " at step ", point.step()));
        break;
      }
    }
  }
}

// The reference isotropy's jitter: λ = eig(Σ + 1e-6 I), isotropy = (λmin + 1e-8) / (λmax + 1e-8).
constexpr double kJitter = 1e-6;
constexpr double kSeedMinEffectiveRank = 5;
constexpr double kSeedMinIsotropy = 1e-3;

// The seed plan's "effective rank > 5" and "isotropy > 1e-3" on the reference statistics, with
// where they are unreachable by construction.
std::vector<SeedCriterion> SeedCriteria(const RunHistory& run, const PlanCriteria& criteria,
                                        const std::vector<std::string>& encoders,
                                        int64_t dimension) {
  SeedCriterion rank{"effective rank > 5"};
  SeedCriterion isotropy{"isotropy > 1e-3"};
  // Where the lowest isotropy was seen, to judge the jitter there.
  std::string iso_encoder;
  int64_t iso_step = -1;
  for (const std::string& encoder : encoders) {
    for (const SeriesPoint& p :
         JudgedPoints(run, criteria, encoder, metric_names::kStatEffectiveRank)) {
      if (!rank.value || p.value() < *rank.value) rank.value = p.value();
    }
    for (const SeriesPoint& p : JudgedPoints(run, criteria, encoder, metric_names::kStatIsotropy)) {
      if (!isotropy.value || p.value() < *isotropy.value) {
        isotropy.value = p.value();
        iso_encoder = encoder;
        iso_step = p.step();
      }
    }
  }
  rank.passed = rank.value && *rank.value > kSeedMinEffectiveRank;
  isotropy.passed = isotropy.value && *isotropy.value > kSeedMinIsotropy;
  // The effective rank of d-dimensional projections is at most d.
  if (dimension > 0 && dimension <= kSeedMinEffectiveRank) {
    rank.unreachable = true;
    rank.caveat = absl::StrCat("unreachable: effective rank <= d = ", dimension);
  }
  if (isotropy.value && dimension > 0) {
    // λmax <= trace = d (variance + jitter), so λmin + 1e-8 = isotropy (λmax + 1e-8) bounds the
    // smallest eigenvalue; at or under twice the jitter it is the jitter, not the data.
    std::optional<double> variance;
    for (const SeriesPoint& p :
         JudgedPoints(run, criteria, iso_encoder, metric_names::kStatVariance)) {
      if (p.step() == iso_step) variance = p.value();
    }
    if (variance) {
      const double lambda_max_bound = dimension * (*variance + kJitter);
      const double lambda_min_bound = *isotropy.value * (lambda_max_bound + 1e-8) - 1e-8;
      if (lambda_min_bound <= 2 * kJitter) {
        // λmax >= the mean eigenvalue, variance + jitter: the jitter caps isotropy here.
        const double ceiling = (2 * kJitter + 1e-8) / (*variance + kJitter + 1e-8);
        isotropy.caveat = absl::StrCat("dominated by the 1e-6 jitter (", iso_encoder, " at step ",
                                       iso_step, ": lambda_min <= ", Num(lambda_min_bound),
                                       ", so isotropy ~ 1e-6/lambda_max <= ", Num(ceiling), ")");
        if (ceiling < kSeedMinIsotropy) {
          isotropy.unreachable = true;
          absl::StrAppend(&isotropy.caveat, "; unreachable while lambda_min is at the jitter");
        }
      }
    }
  }
  if (!isotropy.value && !rank.value) return {};
  return {rank, isotropy};
}

std::string StateName(RunState state) {
  std::string name = common::v1::RunState_Name(state);
  const std::string prefix = "RUN_STATE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

}  // namespace

std::string DescribeVerdict(const RunVerdict& verdict) {
  const std::string at = verdict.step >= 0 ? absl::StrCat(" at step ", verdict.step) : "";
  switch (verdict.kind) {
    case RunVerdictKind::kStable:
      return "stable";
    case RunVerdictKind::kFailed:
      return verdict.reasons.empty() ? "failed" : verdict.reasons.front();
    case RunVerdictKind::kCollapsed:
      return absl::StrCat("collapsed", at);
    case RunVerdictKind::kSpike:
      return absl::StrCat("spike", at);
    case RunVerdictKind::kEarlyStopped:
      return absl::StrCat("early stopped", at);
    case RunVerdictKind::kNotDecreasing:
      return "val loss not decreasing";
    case RunVerdictKind::kNoData:
      return "no data";
  }
  return "unknown";
}

RunVerdict EvaluateRun(const RunHistory& run, const PlanCriteria& criteria, int64_t dimension,
                       std::optional<double> reference_min_rankme) {
  RunVerdict verdict;
  verdict.run_id = run.run_id;
  verdict.seed = run.seed;
  Failures failures;

  bool failed = false;
  const bool collapse_stopped = run.collapse_stop_step >= 0;
  if (run.state == RunState::RUN_STATE_FAILED || run.state == RunState::RUN_STATE_DIVERGED ||
      (run.state == RunState::RUN_STATE_CANCELLED && !collapse_stopped)) {
    failed = true;
    verdict.reasons.push_back(absl::StrCat("failed (", StateName(run.state),
                                           run.message.empty() ? "" : ": ", run.message, ")"));
  }
  CheckValidationLoss(run, criteria, verdict, failures);

  std::vector<std::string> encoders(criteria.encoders().begin(), criteria.encoders().end());
  if (encoders.empty()) encoders = {"context", "target"};
  verdict.min_rankme = CheckDiagnostic(
      run, criteria, encoders, metric_names::kStatRankMe,
      criteria.has_min_rankme() ? std::optional<double>(criteria.min_rankme()) : std::nullopt,
      verdict, failures);
  CheckDiagnostic(run, criteria, encoders, metric_names::kStatIsotropyRobust,
                  criteria.has_min_isotropy_robust()
                      ? std::optional<double>(criteria.min_isotropy_robust())
                      : std::nullopt,
                  verdict, failures);
  if (criteria.has_min_participation_ratio()) {
    if (dimension > 0) {
      CheckDiagnostic(run, criteria, encoders, metric_names::kStatIsotropyRobust,
                      criteria.min_participation_ratio(), verdict, failures,
                      static_cast<double>(dimension), "participation ratio");
    } else {
      verdict.notes.push_back("projection dimension unknown: participation ratio not checked");
    }
  }
  CheckRankMeFractionOfEarly(run, criteria, encoders, verdict, failures);
  if (criteria.has_min_rankme_fraction_of_reference() && reference_min_rankme) {
    const double fraction = criteria.min_rankme_fraction_of_reference();
    CheckDiagnostic(run, criteria, encoders, metric_names::kStatRankMe,
                    fraction * *reference_min_rankme, verdict, failures, 1,
                    absl::StrCat("rankme (", Num(fraction), " x the reference's ",
                                 Num(*reference_min_rankme), ")"));
  }
  verdict.seed_criteria = SeedCriteria(run, criteria, encoders, dimension);
  const std::vector<SeriesPoint> usage = Points(run, metric_names::kVqUsageRatio);
  if (!usage.empty()) verdict.final_codebook_usage = usage.back().value();

  if (run.first_collapse_step >= 0 && !criteria.allow_collapse_events()) {
    failures.Collapse(run.first_collapse_step);
    verdict.reasons.push_back(
        absl::StrCat("collapse event", run.first_collapse_indicator.empty() ? "" : " (",
                     run.first_collapse_indicator, run.first_collapse_indicator.empty() ? "" : ")",
                     " at step ", run.first_collapse_step));
  }
  if (collapse_stopped) {
    // Confirmed by the scheduler's stop_on_collapse policy, whatever allow_collapse_events says:
    // the run did not get to finish.
    failures.Collapse(run.collapse_stop_step);
    verdict.reasons.push_back(
        absl::StrCat("stopped on collapse", run.collapse_stop_indicator.empty() ? "" : " (",
                     run.collapse_stop_indicator, run.collapse_stop_indicator.empty() ? "" : ")",
                     " at step ", run.collapse_stop_step));
  }
  const bool early_stopped =
      run.state == RunState::RUN_STATE_EARLY_STOPPED && !criteria.allow_early_stop();
  const int64_t last_step = LastStep(run);
  if (early_stopped) {
    verdict.reasons.push_back(absl::StrCat("early stopped at step ", last_step));
  }
  verdict.collapse_step = failures.collapse_step;

  if (failed) {
    verdict.kind = RunVerdictKind::kFailed;
    verdict.step = last_step;
  } else if (failures.collapse_step >= 0) {
    verdict.kind = RunVerdictKind::kCollapsed;
    verdict.step = failures.collapse_step;
  } else if (failures.spike_step >= 0) {
    verdict.kind = RunVerdictKind::kSpike;
    verdict.step = failures.spike_step;
  } else if (early_stopped) {
    verdict.kind = RunVerdictKind::kEarlyStopped;
    verdict.step = last_step;
  } else if (failures.not_decreasing) {
    verdict.kind = RunVerdictKind::kNotDecreasing;
  } else if (failures.no_data) {
    verdict.kind = RunVerdictKind::kNoData;
  } else {
    verdict.kind = RunVerdictKind::kStable;
  }
  return verdict;
}

Stat Summarize(const std::vector<double>& values) {
  Stat stat;
  stat.n = static_cast<int>(values.size());
  if (stat.n == 0) return stat;
  double sum = 0;
  for (double v : values) sum += v;
  stat.mean = sum / stat.n;
  if (stat.n >= 2) {
    double squares = 0;
    for (double v : values) squares += (v - stat.mean) * (v - stat.mean);
    stat.spread = std::sqrt(squares / (stat.n - 1));
    // Rounding of equal values is not spread.
    if (stat.spread <= 1e-12 * std::abs(stat.mean)) stat.spread = 0;
  }
  return stat;
}

std::string FormatStat(const Stat& stat) {
  if (stat.n == 0) return "-";
  if (stat.n == 1) return Num(stat.mean);
  return absl::StrCat(Num(stat.mean), " ± ", Num(stat.spread));
}

std::string FormatSteps(const Stat& stat) {
  if (stat.n == 0) return "-";
  if (stat.n == 1) return absl::StrFormat("%.0f", stat.mean);
  return absl::StrFormat("%.0f ± %.0f", stat.mean, stat.spread);
}

namespace {

// The diagnostics dimension from the resolved config (the projection head's width; 0 unknown).
int64_t DimensionOf(const std::map<std::string, std::string>& config) {
  for (const char* key : {"loss.projection_dim", "model.projection_dim"}) {
    auto it = config.find(key);
    int64_t value = 0;
    if (it != config.end() && absl::SimpleAtoi(it->second, &value) && value > 0) return value;
  }
  return 0;
}

// "effective rank > 5: 0/2 seeds (min 1.46 ± 0.1; unreachable: ...)" per seed criterion.
std::string SummarizeSeedCriteria(const std::vector<RunVerdict>& seeds) {
  std::vector<std::string> parts;
  const size_t count = seeds.empty() ? 0 : seeds.front().seed_criteria.size();
  for (size_t c = 0; c < count; ++c) {
    int passed = 0, n = 0;
    std::vector<double> values;
    std::string caveat;
    for (const RunVerdict& seed : seeds) {
      if (c >= seed.seed_criteria.size()) continue;
      const SeedCriterion& criterion = seed.seed_criteria[c];
      ++n;
      if (criterion.passed) ++passed;
      if (criterion.value) values.push_back(*criterion.value);
      if (caveat.empty()) caveat = criterion.caveat;
    }
    parts.push_back(absl::StrCat(seeds.front().seed_criteria[c].text, ": ", passed, "/", n,
                                 n == 1 ? " seed" : " seeds", " (min ",
                                 FormatStat(Summarize(values)),
                                 caveat.empty() ? "" : absl::StrCat("; ", caveat), ")"));
  }
  return absl::StrJoin(parts, "; ");
}

// The reference run's min RankMe by seed (for min_rankme_fraction_of_reference).
using ReferenceRankMe = std::map<int64_t, double>;

ReferenceRankMe ReferenceMinRankMe(const PlanConfig& plan, const PlanResults& results) {
  ReferenceRankMe by_seed;
  if (!plan.criteria().has_min_rankme_fraction_of_reference()) return by_seed;
  auto it = results.find(plan.reference_run());
  if (it == results.end()) return by_seed;
  for (const RunHistory& history : it->second.seeds) {
    if (auto rank = EvaluateRun(history, plan.criteria()).min_rankme) {
      by_seed[history.seed] = *rank;
    }
  }
  return by_seed;
}

RunSetOutcome EvaluateRunSet(const PlanRun& run, const std::string& stage,
                             const PlanRunResults& results, const PlanCriteria& criteria,
                             const std::string& reference_run, const ReferenceRankMe& reference) {
  RunSetOutcome outcome;
  outcome.name = run.name();
  outcome.stage = stage;
  outcome.description = run.description();
  const int64_t dimension = DimensionOf(results.config);
  std::vector<double> val, rank, usage, collapse;
  int stable = 0;
  std::vector<std::string> failures;
  const bool vs_reference =
      criteria.has_min_rankme_fraction_of_reference() && run.name() != reference_run;
  for (const RunHistory& history : results.seeds) {
    std::optional<double> reference_rank;
    if (auto it = reference.find(history.seed); vs_reference && it != reference.end()) {
      reference_rank = it->second;
    }
    RunVerdict verdict = EvaluateRun(history, criteria, dimension, reference_rank);
    if (vs_reference && !reference_rank) {
      verdict.notes.push_back(absl::StrCat("reference run ", reference_run,
                                           " has no RankMe for seed ", history.seed,
                                           ": min_rankme_fraction_of_reference not checked"));
    }
    if (verdict.final_val_loss) val.push_back(*verdict.final_val_loss);
    if (verdict.min_rankme) rank.push_back(*verdict.min_rankme);
    if (verdict.final_codebook_usage) usage.push_back(*verdict.final_codebook_usage);
    if (verdict.collapse_step >= 0) collapse.push_back(static_cast<double>(verdict.collapse_step));
    if (verdict.stable()) {
      ++stable;
    } else {
      failures.push_back(absl::StrCat(DescribeVerdict(verdict), " (seed ", verdict.seed, ")"));
    }
    outcome.seeds.push_back(std::move(verdict));
  }
  const int n = static_cast<int>(outcome.seeds.size());
  outcome.stable = n > 0 && stable == n;
  outcome.inconclusive = stable > 0 && stable < n;
  outcome.stable_seeds = stable;
  outcome.final_val_loss = Summarize(val);
  outcome.min_rankme = Summarize(rank);
  outcome.final_codebook_usage = Summarize(usage);
  outcome.collapse_step = Summarize(collapse);
  outcome.collapsed_seeds = static_cast<int>(collapse.size());
  outcome.seed_criteria = SummarizeSeedCriteria(outcome.seeds);
  const int unstable = n - stable;
  // "collapsed" only when every failing seed collapsed; otherwise "failed the criteria".
  const bool all_failures_collapse =
      unstable > 0 &&
      std::all_of(outcome.seeds.begin(), outcome.seeds.end(), [](const RunVerdict& v) {
        return v.stable() || v.kind == RunVerdictKind::kCollapsed;
      });
  const std::string failed_what = all_failures_collapse ? "collapsed" : "failed the criteria";
  if (outcome.stable) {
    outcome.verdict = absl::StrCat("stable (", n, "/", n, n == 1 ? " seed)" : " seeds)");
  } else if (n == 1) {
    outcome.verdict = DescribeVerdict(outcome.seeds.front());
  } else if (outcome.inconclusive) {
    outcome.verdict =
        absl::StrCat("inconclusive (", unstable, " of ", n, " seeds ", failed_what,
                     "): ", absl::StrJoin(failures, "; "), "; stable ", stable, "/", n);
  } else if (all_failures_collapse) {
    outcome.verdict = absl::StrCat("collapsed in ", n, " of ", n, " seeds at steps ",
                                   FormatSteps(outcome.collapse_step));
  } else {
    outcome.verdict =
        absl::StrCat("unstable in ", n, " of ", n, " seeds: ", absl::StrJoin(failures, "; "));
  }
  return outcome;
}

// "val loss -0.12 ± 0.05, min rankme +2.1 ± 0.3": difference of means, ± the standard error of
// the difference (sqrt(sa²/na + sb²/nb); 0 with one seed each: no spread is known).
std::string EffectSize(const RunSetOutcome& run, const RunSetOutcome& reference) {
  auto diff = [](const Stat& a, const Stat& b, absl::string_view what) -> std::string {
    if (a.n == 0 || b.n == 0) return "";
    const double d = a.mean - b.mean;
    const double se = std::sqrt(a.spread * a.spread / a.n + b.spread * b.spread / b.n);
    return absl::StrCat(what, " ", d >= 0 ? "+" : "", Num(d),
                        a.n >= 2 || b.n >= 2 ? absl::StrCat(" ± ", Num(se)) : "");
  };
  std::vector<std::string> parts;
  for (std::string part : {diff(run.final_val_loss, reference.final_val_loss, "val loss"),
                           diff(run.min_rankme, reference.min_rankme, "min rankme")}) {
    if (!part.empty()) parts.push_back(std::move(part));
  }
  return absl::StrJoin(parts, ", ");
}

// |a - b| within the relative tolerance or within spread_multiplier pooled deviations.
bool EqualWithinNoise(const Stat& a, const Stat& b, const PlanEffectConfig& effect) {
  if (a.n == 0 && b.n == 0) return true;
  if (a.n == 0 || b.n == 0) return false;
  const double diff = std::abs(a.mean - b.mean);
  const double scale = std::max(std::abs(a.mean), std::abs(b.mean));
  const double pooled = std::sqrt((a.spread * a.spread + b.spread * b.spread) / 2);
  return diff <= effect.relative_tolerance() * scale || diff <= effect.spread_multiplier() * pooled;
}

std::vector<std::string> ConfigChanges(const std::map<std::string, std::string>& a,
                                       const std::map<std::string, std::string>& b) {
  std::set<std::string> keys;
  for (const auto& [key, value] : a) keys.insert(key);
  for (const auto& [key, value] : b) keys.insert(key);
  std::vector<std::string> changes;
  for (const std::string& key : keys) {
    if (key == "seed") continue;  // seeds are the repeats, not a knob
    auto ia = a.find(key);
    auto ib = b.find(key);
    const std::string va = ia == a.end() ? "(unset)" : ia->second;
    const std::string vb = ib == b.end() ? "(unset)" : ib->second;
    if (va != vb) changes.push_back(absl::StrCat(key, ": ", va, " -> ", vb));
  }
  return changes;
}

std::vector<NoEffect> FindNoEffect(const std::vector<RunSetOutcome>& runs,
                                   const PlanResults& results, const PlanEffectConfig& effect) {
  std::vector<NoEffect> found;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (size_t j = i + 1; j < runs.size(); ++j) {
      const RunSetOutcome& a = runs[i];
      const RunSetOutcome& b = runs[j];
      const auto& config_a = results.at(a.name).config;
      const auto& config_b = results.at(b.name).config;
      if (config_a.empty() || config_b.empty()) continue;
      std::vector<std::string> changes = ConfigChanges(config_a, config_b);
      // No change: a repeat of the same run, not a knob.
      if (changes.empty() || changes.size() > static_cast<size_t>(effect.max_knob_keys())) {
        continue;
      }
      if (a.stable != b.stable || a.inconclusive != b.inconclusive ||
          (a.collapsed_seeds > 0) != (b.collapsed_seeds > 0)) {
        continue;
      }
      if (a.final_val_loss.n == 0 || b.final_val_loss.n == 0) continue;
      if (!EqualWithinNoise(a.final_val_loss, b.final_val_loss, effect) ||
          !EqualWithinNoise(a.min_rankme, b.min_rankme, effect) ||
          !EqualWithinNoise(a.final_codebook_usage, b.final_codebook_usage, effect)) {
        continue;
      }
      NoEffect no_effect;
      no_effect.run_a = a.name;
      no_effect.run_b = b.name;
      no_effect.changes = changes;
      no_effect.text = absl::StrCat(
          b.name, " vs ", a.name, " (", absl::StrJoin(changes, ", "), "): final val loss ",
          FormatStat(b.final_val_loss), " vs ", FormatStat(a.final_val_loss), ", both ",
          a.stable ? "stable" : (a.inconclusive ? "inconclusive" : "unstable"));
      found.push_back(std::move(no_effect));
    }
  }
  return found;
}

std::string Cell(const std::string& text) {
  std::string out = text;
  std::replace(out.begin(), out.end(), '|', '/');
  return out;
}

std::string BuildTable(const std::vector<RunSetOutcome>& runs) {
  std::string table =
      "| run | stage | seeds | verdict | final val loss | min rankme | final codebook usage | "
      "first collapse | vs reference | seed criteria (reported, not deciding) |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const RunSetOutcome& run : runs) {
    const int n = static_cast<int>(run.seeds.size());
    const std::string collapse =
        run.collapsed_seeds == 0
            ? "none"
            : absl::StrCat(FormatSteps(run.collapse_step), " (", run.collapsed_seeds, "/", n, ")");
    absl::StrAppend(&table, "| ", Cell(run.name), " | ", Cell(run.stage), " | ", n, " | ",
                    Cell(run.verdict), " | ", FormatStat(run.final_val_loss), " | ",
                    FormatStat(run.min_rankme), " | ", FormatStat(run.final_codebook_usage), " | ",
                    collapse, " | ", run.vs_reference.empty() ? "-" : Cell(run.vs_reference), " | ",
                    run.seed_criteria.empty() ? "-" : Cell(run.seed_criteria), " |\n");
  }
  return table;
}

// "<run> <verdict>", with its effect size against the reference when asked (the table has it
// for every run).
std::string Evidence(const RunSetOutcome& run, bool with_effect = false) {
  return absl::StrCat(run.name, " ", run.verdict,
                      with_effect && !run.vs_reference.empty()
                          ? absl::StrCat(" (vs reference: ", run.vs_reference, ")")
                          : "");
}

// " Seed plan's criteria on the reference statistics (reported, not deciding): effective rank >
// 5 met in 1 of 2 runs; isotropy > 1e-3 met in 0 of 2 runs (baseline, no_vq: dominated by the
// 1e-6 jitter)." A run meets one when every seed does. Empty without data.
std::string SeedCriteriaSentence(const std::vector<RunSetOutcome>& runs) {
  std::map<std::string, int> met, judged;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> caveats;  // kind -> runs
  std::vector<std::string> order;
  for (const RunSetOutcome& run : runs) {
    std::map<std::string, bool> all_passed;
    std::map<std::string, std::string> caveat;
    for (const RunVerdict& seed : run.seeds) {
      for (const SeedCriterion& criterion : seed.seed_criteria) {
        auto [it, inserted] = all_passed.try_emplace(criterion.text, true);
        it->second = it->second && criterion.passed;
        if (caveat[criterion.text].empty() && !criterion.caveat.empty()) {
          // Its kind: the text before the details.
          caveat[criterion.text] = criterion.caveat.substr(0, criterion.caveat.find_first_of("(;"));
        }
      }
    }
    for (const auto& [text, passed] : all_passed) {
      if (judged.count(text) == 0) order.push_back(text);
      ++judged[text];
      if (passed) ++met[text];
      std::string kind = caveat[text];
      while (!kind.empty() && kind.back() == ' ') kind.pop_back();
      if (!kind.empty()) caveats[text][kind].push_back(run.name);
    }
  }
  if (order.empty()) return "";
  std::vector<std::string> parts;
  for (const std::string& text : order) {
    std::string part = absl::StrCat(text, " met in ", met[text], " of ", judged[text], " runs");
    std::vector<std::string> notes;
    for (const auto& [kind, names] : caveats[text]) {
      notes.push_back(absl::StrCat(absl::StrJoin(names, ", "), ": ", kind));
    }
    if (!notes.empty()) absl::StrAppend(&part, " (", absl::StrJoin(notes, "; "), ")");
    parts.push_back(std::move(part));
  }
  return absl::StrCat(
      " Seed plan's criteria on the reference statistics (reported, not "
      "deciding): ",
      absl::StrJoin(parts, "; "), ".");
}

}  // namespace

PlanVerdict EvaluatePlan(const PlanConfig& plan, const PlanResults& results) {
  PlanVerdict verdict;
  std::map<std::string, const RunSetOutcome*> by_name;
  std::vector<std::string> fix_runs;         // of fix stages on the path
  std::vector<std::string> no_branch_notes;  // stages where inconclusive runs decided no branch
  const ReferenceRankMe reference_rankme = ReferenceMinRankMe(plan, results);
  int stage = plan.stages().empty() ? -1 : 0;
  // The plan is acyclic (ValidatePlan); the bound guards against an unvalidated one.
  for (int hops = 0; stage >= 0 && hops < plan.stages_size(); ++hops) {
    const PlanStage& current = plan.stages(stage);
    verdict.stages_run.push_back(current.name());
    std::map<std::string, bool> stable;
    std::set<std::string> inconclusive;
    bool missing = false;
    for (const PlanRun& run : current.runs()) {
      auto it = results.find(run.name());
      if (it == results.end() || it->second.seeds.empty()) {
        missing = true;
        continue;
      }
      verdict.runs.push_back(EvaluateRunSet(run, current.name(), it->second, plan.criteria(),
                                            plan.reference_run(), reference_rankme));
      stable[run.name()] = verdict.runs.back().stable;
      if (verdict.runs.back().inconclusive) {
        inconclusive.insert(run.name());
        verdict.inconclusive_runs.push_back(run.name());
      }
      if (current.fixes()) fix_runs.push_back(run.name());
    }
    if (missing) {
      verdict.pending_stage = current.name();
      break;
    }
    absl::StatusOr<BranchChoice> choice = ChooseBranch(current, stable, inconclusive);
    if (!choice.ok()) {  // cannot happen for a valid plan with every run present
      verdict.pending_stage = current.name();
      break;
    }
    if (choice->branch_index < 0 && !inconclusive.empty() && current.branches_size() > 0) {
      no_branch_notes.push_back(absl::StrCat(
          "stage ", current.name(), ": ", absl::StrJoin(inconclusive, ", "),
          inconclusive.size() == 1 ? " is" : " are",
          " inconclusive (seeds disagree), so no if_stable/if_unstable branch was taken; ",
          choice->next_stage.empty()
              ? "the plan ended there"
              : absl::StrCat("the plan followed next to ", choice->next_stage)));
    }
    if (verdict.scenario.empty() && !choice->scenario.empty()) {
      verdict.scenario = choice->scenario;
      verdict.scenario_conclusion = choice->conclusion;
    } else if (verdict.scenario_conclusion.empty() && !choice->conclusion.empty()) {
      verdict.scenario_conclusion = choice->conclusion;
    }
    if (choice->next_stage.empty()) {
      verdict.complete = true;
      break;
    }
    stage = FindStage(plan, choice->next_stage);
  }
  // Effect sizes against the reference run, when it is on the path.
  const RunSetOutcome* reference_outcome = nullptr;
  for (const RunSetOutcome& run : verdict.runs) {
    if (run.name == plan.reference_run()) reference_outcome = &run;
  }
  if (reference_outcome != nullptr) {
    for (RunSetOutcome& run : verdict.runs) {
      if (&run != reference_outcome) run.vs_reference = EffectSize(run, *reference_outcome);
    }
  }
  for (const RunSetOutcome& run : verdict.runs) by_name[run.name] = &run;
  std::vector<std::string> stage1_evidence;
  for (const RunSetOutcome& run : verdict.runs) {
    if (run.stage == plan.stages(0).name()) stage1_evidence.push_back(Evidence(run, true));
  }

  // Fixes: stable ones ranked by mean final validation loss (lower is better).
  std::vector<const RunSetOutcome*> stable_fixes;
  for (const std::string& name : fix_runs) {
    const RunSetOutcome* run = by_name.at(name);
    if (run->stable) {
      stable_fixes.push_back(run);
    } else {
      verdict.unstable_fixes.push_back(name);
    }
  }
  std::stable_sort(
      stable_fixes.begin(), stable_fixes.end(), [](const RunSetOutcome* a, const RunSetOutcome* b) {
        const double la = a->final_val_loss.n > 0 ? a->final_val_loss.mean
                                                  : std::numeric_limits<double>::infinity();
        const double lb = b->final_val_loss.n > 0 ? b->final_val_loss.mean
                                                  : std::numeric_limits<double>::infinity();
        return la < lb;
      });
  for (const RunSetOutcome* run : stable_fixes) verdict.stable_fixes.push_back(run->name);
  verdict.no_effect = FindNoEffect(verdict.runs, results, plan.effect());
  verdict.table = BuildTable(verdict.runs);

  // The written conclusion: "<scenario>: <stage 1>; best fix: ...; evidence: ...".
  std::string text;
  // The tree presumes the reference run (the failing baseline) fails; when it does not, the
  // branch taken says nothing about a cause, and the reader must know that first.
  if (auto reference = by_name.find(plan.reference_run());
      !plan.reference_run().empty() && reference != by_name.end() && reference->second->stable) {
    verdict.reference_stable = true;
    absl::StrAppend(
        &text, "Caution: the reference run ", plan.reference_run(),
        " met the criteria (the failure was not reproduced), so the branch below follows "
        "the plan's tree but is no evidence of a cause. ");
  }
  if (!verdict.scenario.empty()) absl::StrAppend(&text, "Scenario ", verdict.scenario, ". ");
  absl::StrAppend(&text, verdict.scenario_conclusion.empty() ? "No scenario decided"
                                                             : verdict.scenario_conclusion);
  if (!stage1_evidence.empty()) {
    absl::StrAppend(&text, ": ", absl::StrJoin(stage1_evidence, ", "));
  }
  if (!stable_fixes.empty()) {
    const RunSetOutcome& best = *stable_fixes.front();
    absl::StrAppend(&text, "; best fix: ", best.name,
                    best.description.empty() ? "" : absl::StrCat(" (", best.description, ")"),
                    ", final val loss ", FormatStat(best.final_val_loss), " over ",
                    best.seeds.size(), best.seeds.size() == 1 ? " seed" : " seeds");
    if (best.min_rankme.n > 0) absl::StrAppend(&text, ", min rankme ", FormatStat(best.min_rankme));
    if (!best.vs_reference.empty())
      absl::StrAppend(&text, " (vs reference: ", best.vs_reference, ")");
  } else if (!fix_runs.empty()) {
    absl::StrAppend(&text, "; best fix: none of ", absl::StrJoin(fix_runs, ", "),
                    " made training stable");
  }
  std::vector<std::string> evidence;
  if (!fix_runs.empty()) {
    evidence.push_back(absl::StrCat(stable_fixes.size(), " of ", fix_runs.size(), " fixes stable"));
  }
  for (const std::string& name : verdict.unstable_fixes) {
    evidence.push_back(Evidence(*by_name.at(name)));
  }
  for (const RunSetOutcome& run : verdict.runs) {
    if (run.stage == verdict.stages_run.front()) continue;  // stated above
    if (std::find(fix_runs.begin(), fix_runs.end(), run.name) != fix_runs.end()) continue;
    evidence.push_back(Evidence(run));
  }
  for (const NoEffect& no_effect : verdict.no_effect) {
    evidence.push_back(absl::StrCat("no measurable effect: ", no_effect.text));
  }
  if (!evidence.empty()) absl::StrAppend(&text, "; evidence: ", absl::StrJoin(evidence, "; "));
  for (const std::string& note : no_branch_notes) absl::StrAppend(&text, "; ", note);
  if (!verdict.complete) {
    absl::StrAppend(&text, verdict.pending_stage.empty()
                               ? "; incomplete"
                               : absl::StrCat("; incomplete: stage ", verdict.pending_stage,
                                              " has not finished"));
  }
  absl::StrAppend(&text, ".");
  absl::StrAppend(&text, SeedCriteriaSentence(verdict.runs));
  verdict.conclusion = std::move(text);
  return verdict;
}

absl::StatusOr<std::map<std::string, std::string>> FlattenConfigYaml(absl::string_view yaml) {
  return common::FlattenYaml(yaml);
}

}  // namespace jepalab::scheduler
