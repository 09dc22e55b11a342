// End to end for monitoring: the real metrics_server and the real Prometheus (Debian's
// /usr/bin/prometheus) with the shipped alerting rules, and every PromQL expression of the
// Grafana dashboards, Grafana alert rules and Prometheus rules checked with promtool against
// the metric names a live metrics_server exports.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/service_process.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/metrics.grpc.pb.h"

namespace jepalab {
namespace {

using ::jepalab::testing::HttpGet;
using ::jepalab::testing::MakeTempDir;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceProcess;
namespace met = ::jepalab::metrics::v1;

constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kPrometheus[] = "/usr/bin/prometheus";

std::string ReadFile(const std::string& path) { return jepalab::testing::ReadTextFile(path); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Runs a shell command; returns (exit code, stdout+stderr).
std::pair<int, std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A port that was free a moment ago (Prometheus cannot report the port it bound).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

met::MetricPoint Point(const std::string& run_id, const std::string& name, int64_t step,
                       double value) {
  met::MetricPoint point;
  point.set_run_id(run_id);
  point.set_name(name);
  point.set_step(step);
  point.set_epoch(1);
  point.set_value(value);
  return point;
}

// Grafana template variables replaced so that promtool can parse the expression.
std::string SubstituteGrafanaVariables(const std::string& expr) {
  static const std::regex kInterval(R"(\$\{?__(rate_interval|interval|range)\}?)");
  static const std::regex kVariable(R"(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)");
  return std::regex_replace(std::regex_replace(expr, kInterval, "5m"), kVariable, "x");
}

std::set<std::string> JepalabNames(const std::string& expr) {
  static const std::regex kName(R"(\bjepalab_[A-Za-z0-9_]+)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

class MonitoringE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir("monitoring_");
    JEPALAB_ASSERT_OK_AND_ASSIGN(
        metrics_, ServiceProcess::Start("metrics", RunfilePath("metrics_service/metrics_server"),
                                        {"--data_dir=" + root_ + "/metrics", "--http_port=0",
                                         "--http_port_file=" + root_ + "/http_port"}));
    ASSERT_TRUE(
        absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(root_ + "/http_port")), &http_port_));
    stub_ = met::MetricsService::NewStub(
        grpc::CreateChannel(metrics_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (prometheus_pid_ > 0) {
      kill(prometheus_pid_, SIGTERM);
      waitpid(prometheus_pid_, nullptr, 0);
    }
  }

  void Report(const std::vector<met::MetricPoint>& points) {
    grpc::ClientContext context;
    met::ReportMetricsResponse response;
    auto writer = stub_->ReportMetrics(&context, &response);
    met::ReportMetricsRequest batch;
    for (const auto& point : points) *batch.add_points() = point;
    ASSERT_TRUE(writer->Write(batch));
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.accepted_points(), static_cast<int64_t>(points.size()));
  }

  void RegisterRunning(const std::string& run_id) {
    grpc::ClientContext context;
    met::RegisterRunRequest request;
    request.mutable_run()->set_run_id(run_id);
    request.mutable_run()->set_experiment("e2e");
    request.mutable_run()->set_config_hash("abc");
    request.mutable_run()->set_state(common::v1::RUN_STATE_RUNNING);
    met::RegisterRunResponse response;
    ASSERT_TRUE(stub_->RegisterRun(&context, request, &response).ok());
  }

  // Starts Prometheus on a free loopback port scraping metrics_server every second, with the
  // shipped rules whose `for:` durations are shortened to `for_duration`.
  void StartPrometheus(const std::string& for_duration) {
    const std::string dir = root_ + "/prometheus";
    ASSERT_EQ(RunCommand("mkdir -p " + dir + "/data").first, 0);
    const std::string rules =
        std::regex_replace(ReadFile(RunfilePath("monitoring/prometheus/jepalab_alerts.yml")),
                           std::regex(R"(\bfor: \S+)"), "for: " + for_duration);
    WriteFile(dir + "/rules.yml", rules);
    WriteFile(
        dir + "/prometheus.yml",
        absl::StrCat("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                     "rule_files:\n  - ",
                     dir, "/rules.yml\nscrape_configs:\n  - job_name: jepalab-metrics\n",
                     "    static_configs:\n      - targets: ['127.0.0.1:", http_port_, "']\n"));
    prometheus_port_ = FreePort();
    const std::string log = dir + "/prometheus.log";
    prometheus_pid_ = fork();
    ASSERT_GE(prometheus_pid_, 0);
    if (prometheus_pid_ == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      const std::string config = "--config.file=" + dir + "/prometheus.yml";
      const std::string storage = "--storage.tsdb.path=" + dir + "/data";
      const std::string listen = absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port_);
      execl(kPrometheus, kPrometheus, config.c_str(), storage.c_str(), listen.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (!HttpGet(prometheus_port_, "/-/ready").ok()) {
      ASSERT_LT(absl::Now(), deadline) << "Prometheus not ready; log:\n" << ReadFile(log);
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  std::string root_;
  std::unique_ptr<ServiceProcess> metrics_;
  std::unique_ptr<met::MetricsService::Stub> stub_;
  int http_port_ = 0;
  int prometheus_port_ = 0;
  pid_t prometheus_pid_ = -1;
};

TEST_F(MonitoringE2eTest, EveryDashboardAndAlertExpressionParsesAndUsesExportedMetrics) {
  ASSERT_EQ(access(kPromtool, X_OK), 0) << kPromtool << " missing: run tools/setup.sh";
  // Every series the trainer reports, for two steps, plus a collapse (for the events counter).
  RegisterRunning("all");
  std::vector<met::MetricPoint> points;
  for (int64_t step : {1, 2}) {
    for (const char* name : {"loss/total",
                             "loss/info_nce",
                             "loss/vq",
                             "temperature",
                             "lr",
                             "grad_norm",
                             "step_time_seconds",
                             "queue/fill",
                             "epoch",
                             "train/loss",
                             "val/loss",
                             "diagnostics/vq/usage_ratio",
                             "diagnostics/vq/active_codes",
                             "diagnostics/vq/perplexity",
                             "diagnostics/vq/dead_codes",
                             "vq/refreshes",
                             "vq/codes_reinitialized",
                             "vq/reinitialized_in_use",
                             "diagnostics/vq_target/usage_ratio",
                             "diagnostics/vq_target/active_codes",
                             "diagnostics/vq_target/perplexity",
                             "diagnostics/vq_target/dead_codes",
                             "vq_target/refreshes",
                             "vq_target/codes_reinitialized",
                             "vq_target/reinitialized_in_use"}) {
      points.push_back(Point("all", name, step, 0.5 * step));
    }
    for (const char* encoder : {"context", "target"}) {
      for (const char* stat : {"effective_rank", "isotropy", "rankme", "isotropy_robust",
                               "variance", "gaussian_score"}) {
        points.push_back(Point("all", absl::StrCat("diagnostics/", encoder, "/", stat), step,
                               step == 1 ? 9.0 : 1.0));
      }
    }
  }
  Report(points);

  JEPALAB_ASSERT_OK_AND_ASSIGN(std::string exposition, HttpGet(http_port_, "/metrics"));
  std::set<std::string> exported;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    ASSERT_EQ(parts.size(), 2u) << line;
    exported.insert(parts[0]);
    if (parts[1] == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) exported.insert(parts[0] + suffix);
    }
  }
  ASSERT_TRUE(exported.count("jepalab_collapse_events_total")) << exposition;
  ASSERT_TRUE(exported.count("jepalab_embedding_rankme")) << exposition;

  // (where, expression) from the Grafana dashboards, Grafana alert rules and Prometheus rules.
  std::vector<std::pair<std::string, std::string>> exprs;
  for (const char* file : {"run_detail.json", "runs_overview.json", "experiments.json"}) {
    const nlohmann::json board = nlohmann::json::parse(
        ReadFile(RunfilePath(absl::StrCat("monitoring/grafana/dashboards/", file))));
    for (const auto& panel : board.at("panels")) {
      for (const auto& target : panel.at("targets")) {
        exprs.emplace_back(absl::StrCat(file, ": ", panel.at("title").get<std::string>()),
                           target.at("expr").get<std::string>());
      }
    }
    for (const auto& variable : board.at("templating").at("list")) {
      // label_values(...) is Grafana syntax, not PromQL: only its metric name is checked.
      for (const std::string& name :
           JepalabNames(variable.at("query").at("query").get<std::string>())) {
        EXPECT_TRUE(exported.count(name)) << file << " variable uses unexported " << name;
      }
    }
  }
  const YAML::Node grafana_alerts =
      YAML::LoadFile(RunfilePath("monitoring/grafana/provisioning/alerting/jepalab_alerts.yml"));
  int grafana_rules = 0;
  for (const auto& group : grafana_alerts["groups"]) {
    for (const auto& rule : group["rules"]) {
      ++grafana_rules;
      for (const auto& query : rule["data"]) {
        if (query["datasourceUid"].as<std::string>() == "__expr__") continue;
        exprs.emplace_back("grafana alert " + rule["title"].as<std::string>(),
                           query["model"]["expr"].as<std::string>());
      }
    }
  }
  const YAML::Node prometheus_rules =
      YAML::LoadFile(RunfilePath("monitoring/prometheus/jepalab_alerts.yml"));
  int prometheus_alerts = 0;
  for (const auto& group : prometheus_rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      ++prometheus_alerts;
      exprs.emplace_back("prometheus alert " + rule["alert"].as<std::string>(),
                         rule["expr"].as<std::string>());
    }
  }
  EXPECT_EQ(grafana_rules, prometheus_alerts);
  ASSERT_GT(exprs.size(), 30u);

  // One recording rule per expression: promtool parses each one.
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq << YAML::BeginMap
      << YAML::Key << "name" << YAML::Value << "parse" << YAML::Key << "rules" << YAML::Value
      << YAML::BeginSeq;
  for (size_t i = 0; i < exprs.size(); ++i) {
    const std::string expr = SubstituteGrafanaVariables(exprs[i].second);
    out << YAML::BeginMap << YAML::Key << "record" << YAML::Value << absl::StrCat("check:", i)
        << YAML::Key << "expr" << YAML::Value << YAML::DoubleQuoted << expr << YAML::EndMap;
    for (const std::string& name : JepalabNames(expr)) {
      EXPECT_TRUE(exported.count(name))
          << exprs[i].first << " uses " << name
          << ", which metrics_server does not export: " << exprs[i].second;
    }
  }
  out << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  const std::string rules_path = root_ + "/parse_rules.yml";
  WriteFile(rules_path, out.c_str());
  const auto [code, output] = RunCommand(absl::StrCat(kPromtool, " check rules ", rules_path));
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, ::testing::HasSubstr(absl::StrCat("SUCCESS: ", exprs.size(), " rules")));
}

TEST_F(MonitoringE2eTest, CollapseAlertsGoPendingThenFiringAndAHealthyRunRaisesNone) {
  ASSERT_EQ(access(kPrometheus, X_OK), 0) << kPrometheus << " missing: run tools/setup.sh";
  RegisterRunning("healthy");
  RegisterRunning("collapsing");
  StartPrometheus("4s");

  // Both runs keep training (a new step every 250 ms, so neither looks stalled); from step 4
  // the collapsing run's RankMe and codebook usage collapse.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread feeder([&] {
    for (int64_t step = 1; !stop.load(); ++step) {
      const bool collapsed = step >= 4;
      std::vector<met::MetricPoint> points;
      for (const std::string run : {"healthy", "collapsing"}) {
        const bool bad = run == "collapsing" && collapsed;
        points.push_back(Point(run, "loss/total", step, 5.0 / (1.0 + 0.01 * step)));
        points.push_back(Point(run, "grad_norm", step, 1.5));
        points.push_back(Point(run, "val/loss", step, 3.0));
        points.push_back(Point(run, "diagnostics/vq/usage_ratio", step, bad ? 0.01 : 0.6));
        for (const char* encoder : {"context", "target"}) {
          points.push_back(
              Point(run, absl::StrCat("diagnostics/", encoder, "/rankme"), step, bad ? 1.2 : 9.0));
          points.push_back(
              Point(run, absl::StrCat("diagnostics/", encoder, "/isotropy_robust"), step, 0.2));
          // The reference isotropy is jitter-dominated (~1e-5) even on a healthy run.
          points.push_back(
              Point(run, absl::StrCat("diagnostics/", encoder, "/isotropy"), step, 1e-5));
        }
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      met::ReportMetricsResponse response;
      auto writer = stub_->ReportMetrics(&context, &response);
      met::ReportMetricsRequest batch;
      for (const auto& point : points) *batch.add_points() = point;
      writer->Write(batch);
      writer->WritesDone();
      if (!writer->Finish().ok()) ++failures;
      absl::SleepFor(absl::Milliseconds(250));  // the training pace, not synchronisation
    }
  });

  // Poll the alerts API until both collapse alerts of the collapsing run fire, recording every
  // state seen and every alert of the healthy run.
  std::set<std::string> seen;  // "<alertname> <state>" for run=collapsing
  std::vector<std::string> healthy_alerts;
  const std::set<std::string> wanted = {"JepalabEmbeddingCollapse firing",
                                        "JepalabCodebookCollapse firing"};
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  std::string last;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> body = HttpGet(prometheus_port_, "/api/v1/alerts");
    if (body.ok()) {
      last = *body;
      const nlohmann::json reply = nlohmann::json::parse(*body);
      for (const auto& alert : reply.at("data").at("alerts")) {
        const std::string run = alert.at("labels").value("run", "");
        const std::string name = alert.at("labels").at("alertname").get<std::string>();
        const std::string state = alert.at("state").get<std::string>();
        if (run == "collapsing") seen.insert(name + " " + state);
        if (run == "healthy") healthy_alerts.push_back(name + " " + state);
      }
    }
    if (std::includes(seen.begin(), seen.end(), wanted.begin(), wanted.end())) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  stop = true;
  feeder.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(seen.count("JepalabEmbeddingCollapse pending")) << last;
  EXPECT_TRUE(seen.count("JepalabEmbeddingCollapse firing")) << last;
  EXPECT_TRUE(seen.count("JepalabCodebookCollapse pending")) << last;
  EXPECT_TRUE(seen.count("JepalabCodebookCollapse firing")) << last;
  EXPECT_THAT(healthy_alerts, ::testing::IsEmpty());
  // The query API sees the exported series too.
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      std::string rank,
      HttpGet(prometheus_port_,
              "/api/v1/query?query=jepalab_embedding_rankme%7Brun%3D%22healthy%22%7D"));
  EXPECT_THAT(rank, ::testing::HasSubstr("\"run\":\"healthy\""));
}

}  // namespace
}  // namespace jepalab
