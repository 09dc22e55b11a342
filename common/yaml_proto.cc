#include "common/yaml_proto.h"

#include <yaml-cpp/depthguard.h>  // YAML::DeepRecursion, not included by yaml.h
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace jepalab::common {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

class Converter {
 public:
  Converter(absl::string_view source, FieldLines* lines) : source_(source), lines_(lines) {}

  absl::Status FillMessage(const YAML::Node& node, const std::string& path, int depth,
                           Message* message) {
    if (depth > kMaxYamlDepth) {
      return Error(node, path, absl::StrCat("nesting deeper than ", kMaxYamlDepth, " levels"));
    }
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) {
      return Error(node, path, absl::StrCat("expected a mapping, got ", KindName(node)));
    }
    const Descriptor* descriptor = message->GetDescriptor();
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        return Error(entry.first, path, "keys must be plain scalars");
      }
      const std::string key = entry.first.Scalar();
      const std::string key_path = path.empty() ? key : absl::StrCat(path, ".", key);
      if (lines_ != nullptr) (*lines_)[key_path] = entry.first.Mark().line + 1;
      JEPALAB_RETURN_IF_ERROR(CountValue(entry.first, key_path));
      const FieldDescriptor* field = descriptor->FindFieldByName(key);
      if (field == nullptr) {
        return Error(entry.first, key_path,
                     absl::StrCat("unknown key (", path.empty() ? "top level" : path,
                                  " has no field named \"", key, "\")"));
      }
      JEPALAB_RETURN_IF_ERROR(FillField(entry.second, key_path, depth + 1, field, message));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status FillField(const YAML::Node& node, const std::string& path, int depth,
                         const FieldDescriptor* field, Message* message) {
    const Reflection* reflection = message->GetReflection();
    reflection->ClearField(message, field);
    if (node.IsNull()) return absl::OkStatus();
    if (field->is_repeated()) {
      if (node.IsMap()) return Error(node, path, "expected a list or a scalar, got a mapping");
      if (node.IsScalar()) return AddScalar(node, path, depth, field, message);
      for (size_t i = 0; i < node.size(); ++i) {
        JEPALAB_RETURN_IF_ERROR(
            AddScalar(node[i], absl::StrCat(path, "[", i, "]"), depth, field, message));
      }
      return absl::OkStatus();
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return FillMessage(node, path, depth, reflection->MutableMessage(message, field));
    }
    if (!node.IsScalar()) {
      return Error(node, path,
                   absl::StrCat("expected a ", TypeName(field), ", got ", KindName(node)));
    }
    return SetScalar(node, path, field, message, /*repeated=*/false);
  }

  absl::Status AddScalar(const YAML::Node& node, const std::string& path, int depth,
                         const FieldDescriptor* field, Message* message) {
    JEPALAB_RETURN_IF_ERROR(CountValue(node, path));
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return FillMessage(node, path, depth, message->GetReflection()->AddMessage(message, field));
    }
    if (!node.IsScalar()) {
      return Error(node, path,
                   absl::StrCat("expected a ", TypeName(field), ", got ", KindName(node)));
    }
    return SetScalar(node, path, field, message, /*repeated=*/true);
  }

  absl::Status SetScalar(const YAML::Node& node, const std::string& path,
                         const FieldDescriptor* field, Message* message, bool repeated) {
    const Reflection* r = message->GetReflection();
    const std::string text = node.Scalar();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t value = 0;
        if (!absl::SimpleAtoi(text, &value)) {
          return Error(node, path, absl::StrCat("expected an integer, got \"", text, "\""));
        }
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
          if (value < std::numeric_limits<int32_t>::min() ||
              value > std::numeric_limits<int32_t>::max()) {
            return Error(node, path, absl::StrCat("integer out of range, got ", text));
          }
          repeated ? r->AddInt32(message, field, static_cast<int32_t>(value))
                   : r->SetInt32(message, field, static_cast<int32_t>(value));
        } else {
          repeated ? r->AddInt64(message, field, value) : r->SetInt64(message, field, value);
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double value = 0;
        if (!ParseYamlDouble(text, &value)) {
          return Error(node, path, absl::StrCat("expected a number, got \"", text, "\""));
        }
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
          repeated ? r->AddFloat(message, field, static_cast<float>(value))
                   : r->SetFloat(message, field, static_cast<float>(value));
        } else {
          repeated ? r->AddDouble(message, field, value) : r->SetDouble(message, field, value);
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool value = false;
        if (text == "true" || text == "True" || text == "TRUE") {
          value = true;
        } else if (text == "false" || text == "False" || text == "FALSE") {
          value = false;
        } else {
          return Error(node, path, absl::StrCat("expected true or false, got \"", text, "\""));
        }
        repeated ? r->AddBool(message, field, value) : r->SetBool(message, field, value);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_STRING:
        repeated ? r->AddString(message, field, text) : r->SetString(message, field, text);
        return absl::OkStatus();
      default:
        return Error(node, path, "field type not supported in YAML configs");
    }
  }

  static bool ParseYamlDouble(const std::string& text, double* value) {
    if (text == ".inf" || text == ".Inf" || text == "+.inf") {
      *value = std::numeric_limits<double>::infinity();
      return true;
    }
    if (text == "-.inf" || text == "-.Inf") {
      *value = -std::numeric_limits<double>::infinity();
      return true;
    }
    if (text == ".nan" || text == ".NaN") {
      *value = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    return absl::SimpleAtod(text, value);
  }

  static std::string TypeName(const FieldDescriptor* field) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
        return "integer";
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return "number";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "boolean";
      case FieldDescriptor::CPPTYPE_STRING:
        return "string";
      default:
        return "value";
    }
  }

  static std::string KindName(const YAML::Node& node) {
    if (node.IsMap()) return "a mapping";
    if (node.IsSequence()) return "a list";
    if (node.IsNull()) return "null";
    return absl::StrCat("\"", node.Scalar(), "\"");
  }

  // Bounds the work an alias-laden document can cause (see kMaxYamlValues).
  absl::Status CountValue(const YAML::Node& node, const std::string& path) {
    if (++values_ <= kMaxYamlValues) return absl::OkStatus();
    return Error(node, path,
                 absl::StrCat("more than ", kMaxYamlValues,
                              " values (keys and list elements, aliases expanded)"));
  }

  absl::Status Error(const YAML::Node& node, const std::string& path, const std::string& what) {
    const int line = node.Mark().line + 1;
    std::string where =
        line > 0 ? absl::StrCat(" (", source_, ":", line, ")") : absl::StrCat(" (", source_, ")");
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "<root>" : path, ": ", what, where));
  }

  std::string source_;
  FieldLines* lines_;
  int values_ = 0;
};

absl::Status ApplyOverride(const std::string& override_text, int index, absl::string_view source,
                           YAML::Node& root) {
  const size_t eq = override_text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "override #", index + 1, ": expected key.path=value, got \"", override_text, "\""));
  }
  const std::string key = std::string(absl::StripAsciiWhitespace(override_text.substr(0, eq)));
  const std::string value_text = override_text.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::DeepRecursion&) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": override value nests deeper than ",
                                                   kMaxYamlDepth, " levels (", source, ")"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": override value is not valid YAML: ", e.msg, " (", source, ")"));
  }
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return absl::InvalidArgumentError("<root>: expected a mapping");
  // yaml-cpp nodes are handles: walking with operator[] on non-const nodes creates path maps.
  std::vector<YAML::Node> chain = {root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(key, ": empty key segment in override"));
    }
    YAML::Node child = chain.back()[parts[i]];
    if (!child.IsDefined() || child.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      child = chain.back()[parts[i]];
    }
    if (!child.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(absl::StrJoin(parts.begin(), parts.begin() + i + 1, "."),
                       ": is not a section, cannot set ", key));
    }
    chain.push_back(child);
  }
  chain.back()[parts.back()] = value;
  return absl::OkStatus();
}

void EmitScalarField(const Message& message, const FieldDescriptor* field, int index,
                     YAML::Emitter& out) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      out << (rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out << (rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << FormatDouble(rep ? r->GetRepeatedDouble(message, field, index)
                              : r->GetDouble(message, field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out << FormatDouble(rep ? r->GetRepeatedFloat(message, field, index)
                              : r->GetFloat(message, field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out << ((rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                  ? "true"
                  : "false");
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      out << YAML::DoubleQuoted
          << (rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field));
      break;
    default:
      out << YAML::Null;
  }
}

void EmitMessage(const Message& message, YAML::Emitter& out) {
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  out << YAML::BeginMap;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    out << YAML::Key << field->name() << YAML::Value;
    if (field->is_repeated()) {
      out << YAML::Flow << YAML::BeginSeq;
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          EmitMessage(r->GetRepeatedMessage(message, field, j), out);
        } else {
          EmitScalarField(message, field, j, out);
        }
      }
      out << YAML::EndSeq;
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      EmitMessage(r->GetMessage(message, field), out);
    } else if (field->has_presence() && !r->HasField(message, field) &&
               !field->has_default_value()) {
      out << YAML::Null;
    } else {
      EmitScalarField(message, field, -1, out);
    }
  }
  out << YAML::EndMap;
}

}  // namespace

absl::Status ParseYamlInto(absl::string_view yaml, absl::string_view source_name,
                           const std::vector<std::string>& overrides, Message* message,
                           FieldLines* lines) {
  message->Clear();
  if (yaml.size() > kMaxYamlBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: config is %d bytes, more than the %d allowed", source_name,
                        yaml.size(), kMaxYamlBytes));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at 2000 levels with the message "bad file"; say what is wrong.
    return absl::InvalidArgumentError(absl::StrCat(
        source_name, ":", e.mark.line + 1, ": nesting deeper than ", kMaxYamlDepth, " levels"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", e.mark.line + 1, ": malformed YAML: ", e.msg));
  }
  for (size_t i = 0; i < overrides.size(); ++i) {
    JEPALAB_RETURN_IF_ERROR(ApplyOverride(overrides[i], static_cast<int>(i), source_name, root));
  }
  try {
    Converter converter(source_name, lines);
    return converter.FillMessage(root, "", 0, message);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
  }
}

std::string MessageToYaml(const Message& message) {
  YAML::Emitter out;
  EmitMessage(message, out);
  return std::string(out.c_str()) + "\n";
}

absl::Status AnnotateWithLine(const absl::Status& status, absl::string_view source_name,
                              const FieldLines& lines) {
  if (status.ok()) return status;
  const absl::string_view message = status.message();
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos) return status;
  std::string path(message.substr(0, colon));
  // Strip list indices ("a.b[2]" -> "a.b"), then walk up to the closest known parent.
  if (const size_t bracket = path.find('['); bracket != std::string::npos) path.resize(bracket);
  while (!path.empty()) {
    auto it = lines.find(path);
    if (it != lines.end()) {
      return absl::Status(status.code(),
                          absl::StrCat(message, " (", source_name, ":", it->second, ")"));
    }
    const size_t dot = path.rfind('.');
    if (dot == std::string::npos) break;
    path.resize(dot);
  }
  return status;
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  for (int precision = 6; precision <= 17; ++precision) {
    std::string text = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(text.c_str(), nullptr) == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

}  // namespace jepalab::common
