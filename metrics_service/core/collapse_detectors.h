// Collapse detectors of one run: embedding rank and isotropy (per encoder), codebook usage,
// validation spike, loss plateau/rise and divergence, each with a state (ok / warning /
// collapsed), its first-trigger steps and the events of its state changes. Pure logic.
#ifndef JEPALAB_METRICS_SERVICE_CORE_COLLAPSE_DETECTORS_H_
#define JEPALAB_METRICS_SERVICE_CORE_COLLAPSE_DETECTORS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/common.pb.h"
#include "proto/config/metrics_service_config.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {

// Indicator names: the `indicator` field of events and statuses and the Prometheus label.
inline constexpr char kIndicatorEmbeddingRank[] = "embedding_rank";
inline constexpr char kIndicatorEmbeddingIsotropy[] = "embedding_isotropy";
inline constexpr char kIndicatorCodebookUsage[] = "codebook_usage";
inline constexpr char kIndicatorValidationSpike[] = "validation_spike";
inline constexpr char kIndicatorLossPlateau[] = "loss_plateau";
inline constexpr char kIndicatorDivergence[] = "divergence";

// The encoders whose diagnostics are watched (bounded label values).
inline constexpr const char* kDetectorEncoders[] = {"context", "target"};

// Every stored metric name the detectors read under `config` (for replaying history).
std::vector<std::string> CollapseDetectorInputs(const config::v1::CollapseDetectorsConfig& config);

// The detectors of one run, created on the first point each reads. Feed each series in step
// order: a point whose step is not newer than the last one seen for its metric name is
// ignored, so re-sent batches never re-trigger. Not thread-safe; the config must be valid.
class RunCollapseDetectors {
 public:
  RunCollapseDetectors(std::string run_id, const config::v1::CollapseDetectorsConfig& config);

  // Evaluates the detectors that read `name`; appends an event for every state change (the
  // first evaluation, UNSPECIFIED -> OK, is not an event). Events carry no experiment.
  void Observe(absl::string_view name, int64_t step, double value, int64_t unix_ms,
               std::vector<v1::CollapseEvent>* events);

  // RUN_STATE_DIVERGED sets divergence to COLLAPSED at the newest step seen (sticky).
  void ObserveRunState(common::v1::RunState state, int64_t unix_ms,
                       std::vector<v1::CollapseEvent>* events);

  // The detectors that have evaluated at least one point, sorted by indicator, then encoder.
  std::vector<v1::DetectorStatus> Statuses() const;

 private:
  struct Detector {
    v1::DetectorStatus status;
    bool has_reference = false;
    double reference = 0;          // best so far (meaning depends on the indicator)
    int64_t improvement_step = 0;  // loss plateau: step of the last significant improvement
  };

  Detector& DetectorFor(absl::string_view indicator, absl::string_view encoder);
  void SetState(Detector& detector, v1::CollapseState state, int64_t step, double value,
                int64_t unix_ms, std::string reason, std::vector<v1::CollapseEvent>* events);
  void ObserveBand(absl::string_view indicator, absl::string_view encoder, absl::string_view stat,
                   double collapsed_below, double healthy_above, int64_t step, double value,
                   int64_t unix_ms, std::vector<v1::CollapseEvent>* events);
  // Relative to the encoder's first value by default (IsotropyDetectorConfig).
  void ObserveIsotropy(absl::string_view encoder, int64_t step, double value, int64_t unix_ms,
                       std::vector<v1::CollapseEvent>* events);
  void ObserveCodebookUsage(int64_t step, double value, int64_t unix_ms,
                            std::vector<v1::CollapseEvent>* events);
  void ObserveValidationLoss(int64_t step, double value, int64_t unix_ms,
                             std::vector<v1::CollapseEvent>* events);
  void ObservePlateau(int64_t step, double value, int64_t unix_ms,
                      std::vector<v1::CollapseEvent>* events);
  void ObserveCeiling(absl::string_view name, double ceiling, int64_t step, double value,
                      int64_t unix_ms, std::vector<v1::CollapseEvent>* events);

  const std::string run_id_;
  const config::v1::CollapseDetectorsConfig config_;
  std::map<std::pair<std::string, std::string>, Detector> detectors_;
  absl::flat_hash_map<std::string, int64_t> last_step_by_name_;
  int64_t max_step_ = 0;
};

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_CORE_COLLAPSE_DETECTORS_H_
