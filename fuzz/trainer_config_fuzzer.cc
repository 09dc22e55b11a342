// Fuzzes the experiment config path: YAML text plus "key=value" overrides (both arrive over
// SubmitExperiment) through jepalab::config::LoadTrainerConfig, i.e. yaml_proto parsing and
// validation. Input: YAML, optionally followed by a line "%%" and one override per line. Invariant:
// a config that loads writes a resolved YAML that loads back to the same hash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "config/trainer_config.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::string_view yaml = input;
  std::vector<std::string> overrides;
  if (const size_t split = input.find("\n%%\n"); split != absl::string_view::npos) {
    yaml = input.substr(0, split);
    for (absl::string_view line : absl::StrSplit(input.substr(split + 4), '\n')) {
      if (!line.empty()) overrides.emplace_back(line);
    }
  }
  const auto config = jepalab::config::LoadTrainerConfig(yaml, "fuzz.yaml", overrides);
  if (!config.ok()) {
    FUZZ_CHECK(!config.status().message().empty(), "an error must say what is wrong");
    return 0;
  }
  const std::string resolved = jepalab::config::ResolvedConfigYaml(*config);
  const auto reloaded = jepalab::config::LoadTrainerConfig(resolved, "resolved.yaml");
  FUZZ_CHECK(reloaded.ok(), reloaded.status().ToString() + "\n" + resolved);
  FUZZ_CHECK(jepalab::config::ConfigHash(*reloaded) == jepalab::config::ConfigHash(*config),
             resolved);
  return 0;
}
