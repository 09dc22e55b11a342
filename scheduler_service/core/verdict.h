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
};

// "stable", "spike at step 1200", "collapsed at step 800", "early stopped at step 300",
// "failed (DIVERGED)", "val loss not decreasing", "no data".
std::string DescribeVerdict(const RunVerdict& verdict);

// Judges one run. Priority of the primary kind: failed > collapsed > spike > early stopped >
// not decreasing > no data (missing val/loss, fewer than two validation points).
RunVerdict EvaluateRun(const RunHistory& run, const ::jepalab::config::v1::PlanCriteria& criteria);

// Mean and sample standard deviation (0 for n < 2) of the values present.
struct Stat {
  int n = 0;
  double mean = 0;
  double spread = 0;
};
Stat Summarize(const std::vector<double>& values);
// "1.23 ± 0.02" (n >= 2), "1.23" (n = 1), "-" (n = 0).
std::string FormatStat(const Stat& stat);

// The results of one plan run (all its seeds).
struct PlanRunResults {
  std::vector<RunHistory> seeds;
  // The resolved config as dotted key -> value text (FlattenConfigYaml), to find knobs.
  std::map<std::string, std::string> config;
};
// By plan run name. A plan run without an entry (or with no seeds) has not finished.
using PlanResults = std::map<std::string, PlanRunResults>;

// One plan run judged over its seeds.
struct RunSetOutcome {
  std::string name;
  std::string stage;
  std::string description;
  std::vector<RunVerdict> seeds;
  bool stable = false;  // every seed stable (and at least one)
  Stat final_val_loss;
  Stat min_rankme;
  Stat final_codebook_usage;
  Stat collapse_step;  // over the seeds that collapsed
  int collapsed_seeds = 0;
  std::string verdict;  // "stable (3/3 seeds)", "collapsed at step 800 (seed 124); ..."
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
  std::string pending_stage;            // first stage on the path still lacking results
  std::string scenario;                 // of the first branch taken that names one
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
