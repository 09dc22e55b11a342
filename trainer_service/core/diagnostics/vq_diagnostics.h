// The metric points of one VQ codebook in a training run: observes its calls (the diagnostics
// window, VqWindow) and its refresh checks (per-refresh points), and writes them under one
// name ("vq" for the online encoder's VQ, "vq_target" for the target encoder's).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_VQ_DIAGNOSTICS_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_VQ_DIAGNOSTICS_H_

#include <cstdint>
#include <string>

#include "trainer_service/core/diagnostics/vq_window.h"
#include "trainer_service/core/metrics_sink.h"
#include "trainer_service/core/model/vq_codebook.h"

namespace jepalab::trainer {

class VqDiagnostics : public VqCallObserver {
 public:
  // Registers itself as `vq`'s observer until destroyed. `name`: metric_names::kVqOnline or
  // kVqTarget.
  VqDiagnostics(VqCodebook vq, std::string name);
  ~VqDiagnostics() override;
  VqDiagnostics(const VqDiagnostics&) = delete;
  VqDiagnostics& operator=(const VqDiagnostics&) = delete;

  // Whether calls go into the window (the trainer turns it off around validation, and leaves
  // it off without diagnostics events). Refresh checks are recorded either way.
  void set_window_open(bool open) { window_open_ = open; }

  void OnCall(const VqCallStats& stats) override;
  void OnRefreshCheck(const VqRefreshReport& report) override;

  // At a diagnostics event: the window's aggregates, the codebook's state (refresh-rule dead
  // codes and code norms of the last call) and the cumulative refresh counters; empties the
  // window.
  void AppendEventMetrics(MetricValues* out);
  // The sums over the refresh checks that fired since the last call ("<name>/refresh/*");
  // appends nothing when none fired.
  void AppendRefreshMetrics(MetricValues* out);

 private:
  VqCodebook vq_;
  std::string name_;
  bool window_open_ = true;
  VqWindow window_;
  // Refresh checks since the last AppendRefreshMetrics.
  int64_t checks_ = 0;
  int64_t reinitialized_ = 0;
  int64_t reinitialized_in_use_ = 0;
  int64_t previous_revived_ = 0;
  int64_t previous_revived_survived_ = 0;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_VQ_DIAGNOSTICS_H_
