// What one simulated training run reports per step, as the trainer's GrpcMetricsSink sends it:
// the step metrics every step, the VQ window every step, the embedding diagnostics every other
// step and the epoch metrics every 100 steps (22 to 37 names per step). Values are a pure
// function of (run, name, step), so stored points can be checked without keeping them.
#ifndef JEPALAB_BENCH_LOAD_SYNTHETIC_RUN_H_
#define JEPALAB_BENCH_LOAD_SYNTHETIC_RUN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/metrics.pb.h"

namespace jepalab::load {

class SyntheticRun {
 public:
  // Every `collapse_every`-th run (by index; 0 = none) collapses: its context RankMe and VQ
  // usage fall after step 50, so collapse detectors fire and events flow while under load.
  SyntheticRun(std::string run_id, int index, int collapse_every);

  const std::string& run_id() const { return run_id_; }
  bool collapses() const { return collapses_; }

  // The metric names reported at `step`, in send order.
  const std::vector<std::string>& NamesAt(int64_t step) const;
  bool Reports(const std::string& name, int64_t step) const;
  double Value(const std::string& name, int64_t step) const;
  int32_t EpochAt(int64_t step) const { return 1 + static_cast<int32_t>(step / 100); }

  // One ReportMetricsRequest with every point of `step` (unix_ms = now, as the sink does).
  metrics::v1::ReportMetricsRequest Batch(int64_t step) const;
  // Points in steps [0, steps).
  int64_t PointsBefore(int64_t steps) const;

 private:
  std::string run_id_;
  int index_;
  bool collapses_;
};

}  // namespace jepalab::load

#endif  // JEPALAB_BENCH_LOAD_SYNTHETIC_RUN_H_
