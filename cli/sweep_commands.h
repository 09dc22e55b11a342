// `jepalab sweep submit FILE [--watch]`: a sweep file (configs/sweeps/, schema
// proto/config/sweep_config.proto) becomes one SubmitSweep. Same contract as commands.h.
#ifndef JEPALAB_CLI_SWEEP_COMMANDS_H_
#define JEPALAB_CLI_SWEEP_COMMANDS_H_

#include <ostream>

#include "cli/arg_parser.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

// The base config path in the file is read relative to the working directory. --watch follows
// the sweep's experiments until all finished; exit 0 iff every one succeeded.
int SweepCommand(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_SWEEP_COMMANDS_H_
