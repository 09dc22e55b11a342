// jepalab: the command-line client of jepa-lab's services (see `jepalab help`).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/command_spec.h"
#include "cli/command_table.h"

int main(int argc, char** argv) {
  jepalab::cli::CommandIo io{std::cout, std::cerr, isatty(STDOUT_FILENO) == 1};
  return jepalab::cli::RunJepalab(std::vector<std::string>(argv + 1, argv + argc), io);
}
