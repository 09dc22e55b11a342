// Where the CLI's commands find the services, and how they talk to them.
#ifndef JEPALAB_CLI_ENDPOINTS_H_
#define JEPALAB_CLI_ENDPOINTS_H_

#include <string>

#include "common/grpc_channel.h"

namespace jepalab::cli {

struct Endpoints {
  std::string scheduler = "127.0.0.1:50051";
  std::string trainer = "127.0.0.1:50052";
  std::string metrics = "127.0.0.1:50053";
  double timeout_seconds = 30;
  common::ClientSecurity security;  // TLS CA and bearer token; empty: plaintext, no token
};

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_ENDPOINTS_H_
