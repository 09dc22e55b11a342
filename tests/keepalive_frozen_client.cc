// Test helper of keepalive_e2e_test: opens a WatchCollapseEvents and a ReportMetrics stream to
// the metrics_server at argv[1], prints "open" and waits on them until the test freezes it
// (SIGSTOP). Plain channel without client keepalive: only the server's pings are in play.
#include <grpcpp/grpcpp.h>

#include <cstdio>

#include "proto/metrics.grpc.pb.h"

int main(int argc, char** argv) {
  namespace met = ::jepalab::metrics::v1;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
    return 2;
  }
  auto stub = met::MetricsService::NewStub(
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  // Both calls are on the wire once their constructors return.
  grpc::ClientContext watch_context;
  auto watch = stub->WatchCollapseEvents(&watch_context, met::WatchCollapseEventsRequest());
  grpc::ClientContext report_context;
  met::ReportMetricsResponse response;
  auto report = stub->ReportMetrics(&report_context, &response);
  std::printf("open\n");
  std::fflush(stdout);
  met::CollapseEvent event;
  while (watch->Read(&event)) {
  }
  const grpc::Status status = watch->Finish();
  std::fprintf(stderr, "watch ended: %s\n", status.error_message().c_str());
  return status.ok() ? 0 : 1;
}
