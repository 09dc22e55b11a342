// The verdict engine: pure functions from metric histories to verdicts. A run (one seed) is
// judged against the plan's criteria (stable / spike / collapse / early stop); a plan as a whole
// gets the scenario its decision tree took, the fixes that made training stable with effect
// sizes over seeds, the knobs with no measurable effect, a table and a written conclusion.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_VERDICT_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_VERDICT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/common.pb.h"
#include "proto/config/plan_config.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::scheduler {

// One seed's run as the verdict sees it: final state, metric history, collapse events.
struct RunHistory {
  std::string run_id;
  int64_t seed = 0;
  // The run's final state; UNSPECIFIED is read as "finished normally".
  ::jepalab::common::v1::RunState state = ::jepalab::common::v1::RUN_STATE_UNSPECIFIED;
  std::string message;
  // Series by metric name (common/metric_names.h), e.g. from GetRunHistory.
  std::vector<::jepalab::metrics::v1::Series> series;
  // Earliest step at which a metrics_service collapse detector reached COLLAPSED; -1: never.
  int64_t first_collapse_step = -1;
  std::string first_collapse_indicator;
  // Set when the scheduler stopped the run on a confirmed collapse (RunRecord.collapse_stop):
  // the run is then judged collapsed at this step, not failed, although it ended CANCELLED.
  int64_t collapse_stop_step = -1;
  std::string collapse_stop_indicator;
};

enum class RunVerdictKind {
  kStable,
  kFailed,     // the run FAILED, DIVERGED or was CANCELLED (other than stopped on collapse)
  kCollapsed,  // rank or isotropy under threshold, or a collapse event
  kSpike,      // a validation spike
  kEarlyStopped,
  kNotDecreasing,  // validation loss drifted up beyond tolerance or ended above its start
  kNoData,         // not enough history to judge
};

// One of the seed plan's own criteria ("effective rank > 5", "isotropy > 1e-3" on the reference's
// diagnostics/<encoder>/effective_rank and .../isotropy), reported verbatim beside the plan's
// criteria; it decides no branch.
struct SeedCriterion {
  std::string text;             // "effective rank > 5"
  std::optional<double> value;  // minimum over the checked encoders from warmup_steps on
  bool passed = false;          // value > threshold at every point (false without data)
  // Unreachable by construction at this run's dimension or spectrum, with why in `caveat`.
  bool unreachable = false;
  std::string caveat;  // e.g. "dominated by the 1e-6 jitter: ..."; empty if none
};

// What one seed's run showed.
struct RunVerdict {
  std::string run_id;
  int64_t seed = 0;
  RunVerdictKind kind = RunVerdictKind::kNoData;
  int64_t step = -1;  // where the primary failure happened; -1 if none or unknown
  bool stable() const { return kind == RunVerdictKind::kStable; }
  // Every failed criterion, and what could not be checked.
  std::vector<std::string> reasons;
  std::vector<std::string> notes;
  // Measurements (unset when the series is missing).
  std::optional<double> final_val_loss;
  std::optional<double> min_rankme;  // over the checked encoders, from warmup_steps on
  std::optional<double> final_codebook_usage;
  int64_t collapse_step = -1;  // earliest collapse (event or threshold breach); -1: none
  std::vector<SeedCriterion> seed_criteria;  // effective rank > 5, isotropy > 1e-3
};

// "stable", "spike at step 1200", "collapsed at step 800", "early stopped at step 300",
// "failed (DIVERGED)", "val loss not decreasing", "no data".
std::string DescribeVerdict(const RunVerdict& verdict);

// Judges one run. Priority of the primary kind: failed > collapsed > spike > early stopped >
// not decreasing > no data (missing val/loss, fewer than two validation points). `dimension` is
// the run's projection dimension d (0: unknown; min_participation_ratio is then not checked).
// `reference_min_rankme`: the min RankMe of the reference run's seed with this run's seed, for
// min_rankme_fraction_of_reference (unset: not checked).
RunVerdict EvaluateRun(const RunHistory& run, const ::jepalab::config::v1::PlanCriteria& criteria,
                       int64_t dimension = 0,
                       std::optional<double> reference_min_rankme = std::nullopt);

// Mean and sample standard deviation (0 for n < 2) of the values present.
struct Stat {
  int n = 0;
  double mean = 0;
  double spread = 0;
};
Stat Summarize(const std::vector<double>& values);
// "1.23 ± 0.02" (n >= 2), "1.23" (n = 1), "-" (n = 0).
std::string FormatStat(const Stat& stat);
// Training steps, whole: "24 ± 21", "12", "-".
std::string FormatSteps(const Stat& stat);

// The results of one plan run (all its seeds).
struct PlanRunResults {
  std::vector<RunHistory> seeds;
  // The resolved config as dotted key -> value text (FlattenConfigYaml), to find knobs.
  std::map<std::string, std::string> config;
};
// By plan run name. A plan run without an entry (or with no seeds) has not finished.
using PlanResults = std::map<std::string, PlanRunResults>;

// One plan run judged over its seeds. The rule over seeds: unanimous seeds decide (all met the
// criteria: stable; none did: unstable); seeds that disagree make the run inconclusive, which
// takes neither if_stable nor if_unstable branches.
struct RunSetOutcome {
  std::string name;
  std::string stage;
  std::string description;
  std::vector<RunVerdict> seeds;
  bool stable = false;        // every seed stable (and at least one)
  bool inconclusive = false;  // some seeds stable, some not
  int stable_seeds = 0;
  Stat final_val_loss;
  Stat min_rankme;
  Stat final_codebook_usage;
  Stat collapse_step;  // over the seeds that collapsed
  int collapsed_seeds = 0;
  // "stable (3/3 seeds)", "collapsed in 3 of 3 seeds at steps 150 ± 20", "inconclusive (1 of 2
  // seeds collapsed): collapsed at step 800 (seed 124); stable 1/2"; one seed: its verdict.
  std::string verdict;
  // Effect size against the plan's reference run (empty for the reference itself or without
  // one): "val loss -0.12 ± 0.05, min rankme +2.1 ± 0.3" (difference of means ± its standard
  // error over seeds).
  std::string vs_reference;
  // The seed plan's criteria over the seeds: "effective rank > 5: 0/2 seeds (min 1.46 ± 0.1)".
  std::string seed_criteria;
};

// Two runs whose configs differ only in a knob, with outcomes equal within noise.
struct NoEffect {
  std::string run_a;
  std::string run_b;
  std::vector<std::string> changes;  // "object_encoder.commitment_cost: 0.3 -> 0.15"
  std::string text;
};

struct PlanVerdict {
  // Every stage on the path taken has results for all its runs, and the path ended.
  bool complete = false;
  std::vector<std::string> stages_run;  // the path taken, entry stage first
  // Runs on the path whose seeds disagreed, and stages where that left no branch to take.
  std::vector<std::string> inconclusive_runs;
  std::string pending_stage;  // first stage on the path still lacking results
  std::string scenario;       // of the first branch taken that names one
  std::string scenario_conclusion;
  // The plan's reference_run (the failing baseline) met the criteria: the conclusion then
  // starts with a caution, as the branch taken is no evidence of a cause.
  bool reference_stable = false;
  std::vector<RunSetOutcome> runs;          // runs with results, plan order
  std::vector<std::string> stable_fixes;    // stable runs of fix stages on the path, best first
  std::vector<std::string> unstable_fixes;  // the others, plan order
  std::vector<NoEffect> no_effect;
  std::string conclusion;  // "Scenario A. VQ is the cause ...: ...; best fix: ...; evidence: ..."
  std::string table;       // Markdown table, one row per run
};

// Walks the decision tree over `results` and judges the plan (pure; `plan` must be valid).
PlanVerdict EvaluatePlan(const ::jepalab::config::v1::PlanConfig& plan, const PlanResults& results);

// A resolved config's YAML as dotted key -> value text ("optimizer.lr" -> "5e-05"); lists are
// kept whole in flow style. common::FlattenYaml, which documents the details; InvalidArgument if
// the text is not a YAML mapping.
absl::StatusOr<std::map<std::string, std::string>> FlattenConfigYaml(absl::string_view yaml);

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_VERDICT_H_
