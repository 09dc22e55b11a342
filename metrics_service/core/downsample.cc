#include "metrics_service/core/downsample.h"

#include <cstdint>
#include <utility>

namespace jepalab::metrics {

std::vector<v1::SeriesPoint> DownsampleByBucketMean(std::vector<v1::SeriesPoint> points,
                                                    int max_points) {
  if (max_points <= 0 || points.size() <= static_cast<size_t>(max_points)) return points;
  const int64_t n = static_cast<int64_t>(points.size());
  const int64_t m = max_points;
  std::vector<v1::SeriesPoint> out;
  out.reserve(max_points);
  for (int64_t bucket = 0; bucket < m; ++bucket) {
    // Bucket b covers indices [b*n/m, (b+1)*n/m): sizes differ by at most one, none is empty
    // because n > m.
    const int64_t begin = bucket * n / m;
    const int64_t end = (bucket + 1) * n / m;
    double sum = 0;
    for (int64_t i = begin; i < end; ++i) sum += points[i].value();
    v1::SeriesPoint merged = std::move(points[end - 1]);
    merged.set_value(sum / static_cast<double>(end - begin));
    out.push_back(std::move(merged));
  }
  return out;
}

}  // namespace jepalab::metrics
