// What `jepalab --version` prints. Raise it with a release; the services do not check it.
#ifndef JEPALAB_CLI_VERSION_H_
#define JEPALAB_CLI_VERSION_H_

namespace jepalab::cli {

inline constexpr char kVersion[] = "jepalab 0.1.0";

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_VERSION_H_
