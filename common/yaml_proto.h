// YAML <-> protobuf message conversion, keyed by field name, for typed configs. Every error is
// InvalidArgument naming the source, the line and the dotted key path.
#ifndef JEPALAB_COMMON_YAML_PROTO_H_
#define JEPALAB_COMMON_YAML_PROTO_H_

#include <google/protobuf/message.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace jepalab::common {

// Dotted key path ("optimizer.lr") -> 1-based line in the YAML source.
using FieldLines = std::map<std::string, int>;

inline constexpr size_t kMaxYamlBytes = 1 << 20;
inline constexpr int kMaxYamlDepth = 32;
// Keys plus list elements converted. Anchors and aliases let a 64 KB plan expand to millions
// of runs ("billion laughs"); no real config comes near this.
inline constexpr int kMaxYamlValues = 1 << 18;

// Parses `yaml` into `message` (cleared first). Keys are field names; a scalar fills a
// repeated field with one element; YAML null leaves a field unset. `overrides` are
// "dotted.key=value" strings (value parsed as YAML) applied, in order, before conversion.
// Errors name `source_name`, line and key path: unknown key, wrong type, out-of-range integer,
// malformed YAML, more than kMaxYamlBytes, deeper than kMaxYamlDepth or more than
// kMaxYamlValues values once aliases are expanded.
// `lines`, if not null, receives the line of every key seen in the file.
absl::Status ParseYamlInto(absl::string_view yaml, absl::string_view source_name,
                           const std::vector<std::string>& overrides,
                           google::protobuf::Message* message, FieldLines* lines = nullptr);

// The message as YAML with every field, defaults included (unset fields without a declared
// default are written as null), so that ParseYamlInto(MessageToYaml(m)) reproduces m's values.
std::string MessageToYaml(const google::protobuf::Message& message);

// Appends " (<source>:<line>)" to an error whose message starts with "<key path>:" when that
// path (or its closest parent) has a known line. Other statuses pass through unchanged.
absl::Status AnnotateWithLine(const absl::Status& status, absl::string_view source_name,
                              const FieldLines& lines);

// Shortest decimal text that parses back to exactly `value`.
std::string FormatDouble(double value);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_YAML_PROTO_H_
