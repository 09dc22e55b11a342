#include "scheduler_service/core/metrics_client.h"

#include "absl/strings/str_cat.h"

namespace jepalab::scheduler {

std::string DetectorName(const std::string& indicator, const std::string& encoder) {
  return encoder.empty() ? indicator : absl::StrCat(indicator, "/", encoder);
}

CollapseSummary SummarizeCollapse(
    const std::vector<::jepalab::metrics::v1::DetectorStatus>& detectors) {
  CollapseSummary summary;
  for (const auto& detector : detectors) {
    const int64_t step = detector.first_collapse_step();
    if (step < 0) continue;
    if (summary.first_collapse_step >= 0 && step >= summary.first_collapse_step) continue;
    summary.first_collapse_step = step;
    summary.indicator = DetectorName(detector.indicator(), detector.encoder());
  }
  return summary;
}

}  // namespace jepalab::scheduler
