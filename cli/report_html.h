// The `jepalab report` page: a self-contained HTML document (inline CSS, inline SVG line charts
// drawn here; no script, font, image or network reference) with the plan's verdict and one chart
// per metric, one colour per run, and collapse markers. Pure: plain inputs in, HTML text out.
#ifndef JEPALAB_CLI_REPORT_HTML_H_
#define JEPALAB_CLI_REPORT_HTML_H_

#include <cstdint>
#include <string>
#include <vector>

namespace jepalab::cli {

struct ReportPoint {
  int64_t step = 0;
  double value = 0;
};

// One line of a chart. Its colour is its run's; `variant` (e.g. "rankme", "reference") picks the
// dash pattern when a chart draws several quantities per run, in order of first appearance.
// Non-finite values are left out of the line (and so of its point count).
struct ReportSeries {
  std::string run;
  std::string variant;
  std::vector<ReportPoint> points;
};

// A run's detector confirmed collapse at `step`: a vertical dashed line in the run's colour.
struct ReportMarker {
  std::string run;
  int64_t step = 0;
  std::string label;  // e.g. "embedding_rank/context"; shown as the marker's tooltip
};

enum class ReportScale {
  kLinear,
  kAuto,  // logarithmic if every value is > 0 and they span at least two decades, else linear
};

struct ReportChart {
  std::string title;        // e.g. "Validation loss"
  std::string metric_note;  // e.g. the metric names drawn, shown under the title
  ReportScale scale = ReportScale::kLinear;
  std::vector<ReportSeries> series;
  std::vector<ReportMarker> markers;
};

struct ReportInput {
  std::string title;     // page title and heading
  std::string subtitle;  // one line under the heading (state, stages taken); may be empty
  // The verdict section is drawn iff has_verdict: the written conclusion (paragraphs separated by
  // blank lines) and the Markdown table rendered as an HTML table.
  bool has_verdict = false;
  std::string conclusion;
  std::string table_markdown;
  // Runs in legend and colour order. Runs named only by a series or marker are appended.
  std::vector<std::string> runs;
  std::vector<ReportChart> charts;
};

// The whole page. Every text from the input is HTML-escaped.
std::string RenderReportHtml(const ReportInput& input);

// Exposed for tests and for reuse: HTML escaping of text and attribute values (& < > " ').
std::string HtmlEscape(const std::string& text);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_REPORT_HTML_H_
