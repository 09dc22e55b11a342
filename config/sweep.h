// Sweep expansion: a grid (cartesian product of key -> values) or a list of named variants,
// each repeated over seeds, into experiments with stable, readable names. Pure functions.
#ifndef JEPALAB_CONFIG_SWEEP_H_
#define JEPALAB_CONFIG_SWEEP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/scheduler.pb.h"

namespace jepalab::config {

// One grid dimension: a dotted config key and the values (YAML text) it takes.
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

struct SweepVariantSpec {
  std::string name;
  std::vector<std::string> overrides;
};

struct SweepSpec {
  std::string name;                    // the sweep's name
  std::vector<std::string> overrides;  // applied to every variant before its own
  // Exactly one of these is non-empty.
  std::vector<SweepVariantSpec> variants;
  std::vector<SweepAxis> grid;
  std::vector<int64_t> seeds;  // empty: the config's seed
};

// One experiment of a sweep.
struct SweepPoint {
  std::string variant;  // "small", or for a grid "lr-0.001_batch_size-32"
  std::string name;     // "<sweep>.<variant>"
  std::string field;    // where it came from, for errors: "variants[1] (big)", "grid point ..."
  std::vector<std::string> overrides;  // the sweep's, then the variant's (later wins)
  std::vector<int64_t> seeds;
  // "<name>-s<seed>" per seed, in seed order; just "<name>" without seeds.
  std::vector<std::string> RunNames() const;
};

// At most this many points in one grid.
inline constexpr size_t kMaxSweepPoints = 10000;

// Expands the sweep in a fixed order: variants as listed; a grid in row-major order (the first
// axis varies slowest), each point named "<last key segment>-<value>" per axis joined by "_"
// (the full key where two axes share a last segment; characters outside [A-Za-z0-9.-] become
// "-"). InvalidArgument naming the field: bad or duplicate names ("variants[1].name: duplicate
// variant"), "variants: must not be empty", both variants and grid, grid[i].key empty or
// duplicated, grid[i].values empty, grid names that collide, too many points, duplicate seeds.
absl::StatusOr<std::vector<SweepPoint>> ExpandSweep(const SweepSpec& spec);

// The spec of a SubmitSweep request (name defaulting to "sweep").
SweepSpec SweepSpecFromRequest(const scheduler::v1::SubmitSweepRequest& request);

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_SWEEP_H_
