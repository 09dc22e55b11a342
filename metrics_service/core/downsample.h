// Downsampling of one metric series to a bounded number of points, for history queries.
#ifndef JEPALAB_METRICS_SERVICE_CORE_DOWNSAMPLE_H_
#define JEPALAB_METRICS_SERVICE_CORE_DOWNSAMPLE_H_

#include <vector>

#include "proto/metrics.pb.h"

namespace jepalab::metrics {

// Returns `points` (sorted by step) reduced to at most `max_points` points; `max_points` <= 0 or
// a series already small enough is returned unchanged. The series is cut into `max_points`
// contiguous buckets of (almost) equal point count; each bucket becomes one point whose value is
// the mean of the bucket's values and whose step, epoch and unix_ms are those of the bucket's
// LAST point. Keeping the last step means the final point of a run keeps its exact step, so
// "where did training end" survives downsampling.
std::vector<v1::SeriesPoint> DownsampleByBucketMean(std::vector<v1::SeriesPoint> points,
                                                    int max_points);

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_CORE_DOWNSAMPLE_H_
