#include "config/sweep.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/status_macros.h"

namespace jepalab::config {
namespace {

constexpr char kDefaultSweepName[] = "sweep";

// Characters outside [A-Za-z0-9.-] become single "-"; leading/trailing "-" dropped.
std::string Sanitize(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-';
    if (keep) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "empty" : out;
}

std::string LastSegment(const std::string& key) {
  const size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

absl::StatusOr<std::vector<SweepPoint>> ExpandGrid(const SweepSpec& spec) {
  std::set<std::string> keys;
  std::map<std::string, int> last_segments;
  size_t total = 1;
  for (size_t i = 0; i < spec.grid.size(); ++i) {
    const SweepAxis& axis = spec.grid[i];
    const std::string field = absl::StrCat("grid[", i, "]");
    if (axis.key.empty() || axis.key.find('=') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".key: must be a dotted config key, got \"", axis.key, "\""));
    }
    if (!keys.insert(axis.key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".key: duplicate key \"", axis.key, "\""));
    }
    if (axis.values.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".values: must not be empty"));
    }
    ++last_segments[LastSegment(axis.key)];
    total *= axis.values.size();
    if (total > kMaxSweepPoints) {
      return absl::InvalidArgumentError(
          absl::StrCat("grid: more than ", kMaxSweepPoints, " points"));
    }
  }
  std::vector<SweepPoint> points;
  std::vector<size_t> index(spec.grid.size(), 0);
  std::map<std::string, size_t> seen;  // variant name -> point index
  for (size_t p = 0; p < total; ++p) {
    SweepPoint point;
    point.overrides = spec.overrides;
    std::vector<std::string> parts;
    for (size_t i = 0; i < spec.grid.size(); ++i) {
      const SweepAxis& axis = spec.grid[i];
      const std::string& value = axis.values[index[i]];
      const std::string label =
          last_segments[LastSegment(axis.key)] > 1 ? axis.key : LastSegment(axis.key);
      parts.push_back(absl::StrCat(label, "-", Sanitize(value)));
      point.overrides.push_back(absl::StrCat(axis.key, "=", value));
    }
    point.variant = absl::StrJoin(parts, "_");
    auto [it, inserted] = seen.emplace(point.variant, p);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("grid: points ", it->second, " and ", p, " would both be named \"",
                       point.variant, "\"; use values that differ in [A-Za-z0-9.-]"));
    }
    point.field = absl::StrCat("grid point ", point.variant);
    points.push_back(std::move(point));
    // Row-major: the last axis varies fastest.
    for (size_t i = spec.grid.size(); i-- > 0;) {
      if (++index[i] < spec.grid[i].values.size()) break;
      index[i] = 0;
    }
  }
  return points;
}

}  // namespace

std::vector<std::string> SweepPoint::RunNames() const {
  if (seeds.empty()) return {name};
  std::vector<std::string> names;
  for (int64_t seed : seeds) names.push_back(absl::StrCat(name, "-s", seed));
  return names;
}

absl::StatusOr<std::vector<SweepPoint>> ExpandSweep(const SweepSpec& spec) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("name", spec.name));
  std::set<int64_t> seeds;
  for (size_t i = 0; i < spec.seeds.size(); ++i) {
    if (!seeds.insert(spec.seeds[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat("seeds: duplicate seed ", spec.seeds[i]));
    }
  }
  if (!spec.variants.empty() && !spec.grid.empty()) {
    return absl::InvalidArgumentError("grid: a sweep has either variants or a grid, not both");
  }
  std::vector<SweepPoint> points;
  if (!spec.grid.empty()) {
    JEPALAB_ASSIGN_OR_RETURN(points, ExpandGrid(spec));
  } else {
    if (spec.variants.empty()) return absl::InvalidArgumentError("variants: must not be empty");
    std::set<std::string> names;
    for (size_t i = 0; i < spec.variants.size(); ++i) {
      const SweepVariantSpec& variant = spec.variants[i];
      const std::string field = absl::StrCat("variants[", i, "].name");
      JEPALAB_RETURN_IF_ERROR(common::ValidateId(field, variant.name));
      if (!names.insert(variant.name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": duplicate variant \"", variant.name, "\""));
      }
      SweepPoint point;
      point.variant = variant.name;
      point.field = absl::StrCat("variants[", i, "] (", variant.name, ")");
      point.overrides = spec.overrides;
      point.overrides.insert(point.overrides.end(), variant.overrides.begin(),
                             variant.overrides.end());
      points.push_back(std::move(point));
    }
  }
  for (SweepPoint& point : points) {
    point.name = absl::StrCat(spec.name, ".", point.variant);
    point.seeds = spec.seeds;
  }
  return points;
}

SweepSpec SweepSpecFromRequest(const scheduler::v1::SubmitSweepRequest& request) {
  SweepSpec spec;
  spec.name = request.name().empty() ? kDefaultSweepName : request.name();
  spec.overrides.assign(request.overrides().begin(), request.overrides().end());
  for (const scheduler::v1::SweepVariant& variant : request.variants()) {
    spec.variants.push_back(
        SweepVariantSpec{variant.name(), {variant.overrides().begin(), variant.overrides().end()}});
  }
  for (const scheduler::v1::SweepAxis& axis : request.grid()) {
    spec.grid.push_back(SweepAxis{axis.key(), {axis.values().begin(), axis.values().end()}});
  }
  spec.seeds.assign(request.seeds().begin(), request.seeds().end());
  return spec;
}

}  // namespace jepalab::config
