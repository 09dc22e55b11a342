// Validation of the collapse detectors' thresholds (schema
// proto/config/metrics_service_config.proto): the metrics service checks them at startup, before
// any detector runs.
#ifndef JEPALAB_CONFIG_COLLAPSE_DETECTORS_CONFIG_H_
#define JEPALAB_CONFIG_COLLAPSE_DETECTORS_CONFIG_H_

#include "absl/status/status.h"
#include "proto/config/metrics_service_config.pb.h"

namespace jepalab::config {

// OK iff every threshold is usable; else InvalidArgument naming the field path under
// "collapse_detectors.", e.g. "collapse_detectors.rank.healthy_above: must be >= collapsed_below
// (2), got 1". Unset fields take their declared defaults.
absl::Status ValidateCollapseDetectorsConfig(const v1::CollapseDetectorsConfig& config);

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_COLLAPSE_DETECTORS_CONFIG_H_
