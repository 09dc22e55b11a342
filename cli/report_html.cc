#include "cli/report_html.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace jepalab::cli {
namespace {

// Tableau 10: distinguishable, and readable on white.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr const char* kDashes[] = {"", "6 3", "2 3", "8 3 2 3"};
constexpr int kDashCount = sizeof(kDashes) / sizeof(kDashes[0]);

// Chart geometry (SVG user units).
constexpr double kWidth = 760;
constexpr double kHeight = 280;
constexpr double kLeft = 64;
constexpr double kRight = 16;
constexpr double kTop = 12;
constexpr double kBottom = 36;

constexpr char kStyle[] = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px auto;max-width:820px;color:#222;background:#fff}
h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.2em;margin:24px 0 8px}h3{font-size:1em;margin:0}
.sub{color:#555;margin:0 0 16px}
.verdict p{line-height:1.4}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f3f3f3}
figure{margin:16px 0;padding:8px;border:1px solid #e3e3e3;border-radius:4px}
figcaption small{color:#666}
svg{display:block;max-width:100%;height:auto}
svg .axis{stroke:#888;stroke-width:1}svg .grid{stroke:#eee;stroke-width:1}
svg text{font-size:11px;fill:#444}svg .empty{font-size:14px;fill:#999}
svg .series{fill:none;stroke-width:1.6}svg .marker{stroke-width:1.2;stroke-dasharray:4 3}
ul.legend{list-style:none;padding:0;margin:4px 0 0;font-size:.85em}
ul.legend li{display:inline-block;margin:0 14px 2px 0}
ul.legend .swatch{display:inline-block;width:18px;height:0;border-top:3px solid;vertical-align:middle;margin-right:4px}
ul.legend .dash{display:inline-block;width:22px;vertical-align:middle;margin-right:4px}
)";

std::string Num(double v) { return absl::StrFormat("%.1f", v); }

std::string TickLabel(double v) {
  if (v == 0) return "0";
  return absl::StrFormat("%.4g", v);
}

// About `count` round tick values covering [lo, hi].
std::vector<double> NiceTicks(double lo, double hi, int count) {
  const double raw = (hi - lo) / std::max(count, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    if (ticks.size() > 50) break;
  }
  return ticks;
}

struct Axis {
  double lo = 0;
  double hi = 1;
  bool log = false;
  double Fraction(double v) const {
    if (log) return (std::log10(v) - lo) / (hi - lo);
    return (v - lo) / (hi - lo);
  }
};

std::vector<ReportPoint> FinitePoints(const ReportSeries& series, bool log) {
  std::vector<ReportPoint> points;
  for (const ReportPoint& p : series.points) {
    if (!std::isfinite(p.value) || (log && p.value <= 0)) continue;
    points.push_back(p);
  }
  return points;
}

void AppendParagraphs(const std::string& text, std::string* html) {
  for (absl::string_view para : absl::StrSplit(text, "\n\n", absl::SkipWhitespace())) {
    std::string escaped;
    bool first = true;
    for (absl::string_view line : absl::StrSplit(para, '\n')) {
      absl::StrAppend(&escaped, first ? "" : "<br>", HtmlEscape(std::string(line)));
      first = false;
    }
    absl::StrAppend(html, "<p>", escaped, "</p>\n");
  }
}

std::vector<std::string> TableCells(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  absl::ConsumePrefix(&line, "|");
  absl::ConsumeSuffix(&line, "|");
  std::vector<std::string> cells;
  for (absl::string_view cell : absl::StrSplit(line, '|')) {
    cells.emplace_back(absl::StripAsciiWhitespace(cell));
  }
  return cells;
}

bool IsSeparatorRow(const std::vector<std::string>& cells) {
  for (const std::string& cell : cells) {
    if (cell.empty() || cell.find_first_not_of(":-") != std::string::npos) return false;
  }
  return !cells.empty();
}

// Markdown: runs of "|"-lines become tables (header row when a separator row follows it), other
// text becomes paragraphs.
void AppendMarkdown(const std::string& markdown, std::string* html) {
  std::vector<std::string> lines = absl::StrSplit(markdown, '\n');
  std::string text;
  for (size_t i = 0; i < lines.size();) {
    if (!absl::StartsWith(absl::StripLeadingAsciiWhitespace(lines[i]), "|")) {
      absl::StrAppend(&text, lines[i], "\n");
      ++i;
      continue;
    }
    AppendParagraphs(text, html);
    text.clear();
    absl::StrAppend(html, "<table>\n");
    bool first_row = true;
    for (; i < lines.size() && absl::StartsWith(absl::StripLeadingAsciiWhitespace(lines[i]), "|");
         ++i) {
      const std::vector<std::string> cells = TableCells(lines[i]);
      if (IsSeparatorRow(cells)) continue;
      const bool header =
          first_row && i + 1 < lines.size() && IsSeparatorRow(TableCells(lines[i + 1]));
      first_row = false;
      absl::StrAppend(html, "<tr>");
      for (const std::string& cell : cells) {
        absl::StrAppend(html, header ? "<th>" : "<td>", HtmlEscape(cell),
                        header ? "</th>" : "</td>");
      }
      absl::StrAppend(html, "</tr>\n");
    }
    absl::StrAppend(html, "</table>\n");
  }
  AppendParagraphs(text, html);
}

class Colours {
 public:
  explicit Colours(const ReportInput& input) {
    for (const std::string& run : input.runs) Add(run);
    for (const ReportChart& chart : input.charts) {
      for (const ReportSeries& s : chart.series) Add(s.run);
      for (const ReportMarker& m : chart.markers) Add(m.run);
    }
  }
  std::string Of(const std::string& run) const {
    auto it = index_.find(run);
    return kPalette[(it == index_.end() ? 0 : it->second) % kPaletteSize];
  }

 private:
  void Add(const std::string& run) { index_.emplace(run, static_cast<int>(index_.size())); }
  std::map<std::string, int> index_;
};

void AppendChart(const ReportChart& chart, const Colours& colours, std::string* html) {
  absl::StrAppend(html, "<figure class=\"chart\">\n<figcaption><h3>", HtmlEscape(chart.title),
                  "</h3>");
  if (!chart.metric_note.empty())
    absl::StrAppend(html, "<small>", HtmlEscape(chart.metric_note), "</small>");
  absl::StrAppend(html, "</figcaption>\n");

  // Ranges over the finite points (positive ones only where the scale may be logarithmic).
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo;
  double ylo = xlo, yhi = -xlo;
  bool all_positive = true;
  int drawn_points = 0;
  for (const ReportSeries& s : chart.series) {
    for (const ReportPoint& p : FinitePoints(s, /*log=*/false)) {
      xlo = std::min<double>(xlo, p.step);
      xhi = std::max<double>(xhi, p.step);
      ylo = std::min(ylo, p.value);
      yhi = std::max(yhi, p.value);
      all_positive = all_positive && p.value > 0;
      ++drawn_points;
    }
  }
  absl::StrAppend(html, "<svg class=\"plot\" viewBox=\"0 0 ", Num(kWidth), " ", Num(kHeight),
                  "\" width=\"", Num(kWidth), "\" height=\"", Num(kHeight),
                  "\" role=\"img\" aria-label=\"", HtmlEscape(chart.title), "\">\n");
  if (drawn_points == 0) {
    absl::StrAppend(html, "<text class=\"empty\" x=\"", Num(kWidth / 2), "\" y=\"",
                    Num(kHeight / 2),
                    "\" text-anchor=\"middle\">no data</text>\n</svg>\n</figure>\n");
    return;
  }
  for (const ReportMarker& m : chart.markers) {
    xlo = std::min<double>(xlo, m.step);
    xhi = std::max<double>(xhi, m.step);
  }
  if (xhi <= xlo) xhi = xlo + 1;
  Axis x{xlo, xhi, false};
  Axis y;
  y.log = chart.scale == ReportScale::kAuto && all_positive && yhi / ylo >= 100;
  std::vector<double> yticks;
  if (y.log) {
    y.lo = std::floor(std::log10(ylo));
    y.hi = std::ceil(std::log10(yhi));
    if (y.hi <= y.lo) y.hi = y.lo + 1;
    for (double k = y.lo; k <= y.hi; ++k) yticks.push_back(std::pow(10.0, k));
  } else {
    double pad = (yhi - ylo) * 0.05;
    if (pad == 0) pad = std::max(std::abs(yhi) * 0.05, 1e-9);
    y.lo = ylo - pad;
    y.hi = yhi + pad;
    yticks = NiceTicks(y.lo, y.hi, 5);
  }
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  auto px = [&](double step) { return kLeft + x.Fraction(step) * plot_w; };
  auto py = [&](double value) { return kTop + (1 - y.Fraction(value)) * plot_h; };

  // Grid, axes and tick labels.
  for (double t : yticks) {
    const double yy = py(t);
    absl::StrAppend(html, "<line class=\"grid\" x1=\"", Num(kLeft), "\" x2=\"",
                    Num(kWidth - kRight), "\" y1=\"", Num(yy), "\" y2=\"", Num(yy),
                    "\"/><text x=\"", Num(kLeft - 4), "\" y=\"", Num(yy + 4),
                    "\" text-anchor=\"end\">", TickLabel(t), "</text>\n");
  }
  for (double t : NiceTicks(x.lo, x.hi, 6)) {
    const double xx = px(t);
    absl::StrAppend(html, "<line class=\"grid\" x1=\"", Num(xx), "\" x2=\"", Num(xx), "\" y1=\"",
                    Num(kTop), "\" y2=\"", Num(kHeight - kBottom), "\"/><text x=\"", Num(xx),
                    "\" y=\"", Num(kHeight - kBottom + 14), "\" text-anchor=\"middle\">",
                    TickLabel(t), "</text>\n");
  }
  absl::StrAppend(html, "<line class=\"axis\" x1=\"", Num(kLeft), "\" x2=\"", Num(kLeft),
                  "\" y1=\"", Num(kTop), "\" y2=\"", Num(kHeight - kBottom),
                  "\"/><line class=\"axis\" x1=\"", Num(kLeft), "\" x2=\"", Num(kWidth - kRight),
                  "\" y1=\"", Num(kHeight - kBottom), "\" y2=\"", Num(kHeight - kBottom),
                  "\"/>\n<text x=\"", Num(kLeft + plot_w / 2), "\" y=\"", Num(kHeight - 4),
                  "\" text-anchor=\"middle\">step", y.log ? " (log scale)" : "", "</text>\n");

  // Series: colour per run, dash per variant.
  std::map<std::string, int> variants;
  std::vector<std::string> variant_order;
  std::vector<std::string> legend_runs;
  for (const ReportSeries& s : chart.series) {
    if (variants.emplace(s.variant, static_cast<int>(variants.size())).second)
      variant_order.push_back(s.variant);
    const std::vector<ReportPoint> points = FinitePoints(s, y.log);
    if (std::find(legend_runs.begin(), legend_runs.end(), s.run) == legend_runs.end())
      legend_runs.push_back(s.run);
    if (points.empty()) continue;
    const std::string dash = kDashes[variants[s.variant] % kDashCount];
    std::string coords;
    for (const ReportPoint& p : points) {
      absl::StrAppend(&coords, coords.empty() ? "" : " ", Num(px(p.step)), ",", Num(py(p.value)));
    }
    absl::StrAppend(html, "<polyline class=\"series\" data-run=\"", HtmlEscape(s.run),
                    "\" data-variant=\"", HtmlEscape(s.variant), "\" stroke=\"", colours.Of(s.run),
                    "\"", dash.empty() ? "" : absl::StrCat(" stroke-dasharray=\"", dash, "\""),
                    " points=\"", coords, "\"><title>",
                    HtmlEscape(s.variant.empty() ? s.run : absl::StrCat(s.run, " ", s.variant)),
                    "</title></polyline>\n");
    if (points.size() == 1) {
      absl::StrAppend(html, "<circle cx=\"", Num(px(points[0].step)), "\" cy=\"",
                      Num(py(points[0].value)), "\" r=\"2.5\" fill=\"", colours.Of(s.run),
                      "\"/>\n");
    }
  }
  for (const ReportMarker& m : chart.markers) {
    const double xx = px(m.step);
    absl::StrAppend(html, "<line class=\"marker\" data-run=\"", HtmlEscape(m.run), "\" stroke=\"",
                    colours.Of(m.run), "\" x1=\"", Num(xx), "\" x2=\"", Num(xx), "\" y1=\"",
                    Num(kTop), "\" y2=\"", Num(kHeight - kBottom), "\"><title>", HtmlEscape(m.run),
                    ": collapse at step ", m.step,
                    m.label.empty() ? "" : absl::StrCat(" (", HtmlEscape(m.label), ")"),
                    "</title></line>\n", "<text x=\"", Num(xx + 2), "\" y=\"", Num(kTop + 10),
                    "\" fill=\"", colours.Of(m.run), "\">\xE2\x9C\x95</text>\n");
  }
  absl::StrAppend(html, "</svg>\n<ul class=\"legend\">");
  for (const std::string& run : legend_runs) {
    absl::StrAppend(html, "<li><span class=\"swatch\" style=\"border-color:", colours.Of(run),
                    "\"></span>", HtmlEscape(run), "</li>");
  }
  if (variant_order.size() > 1) {
    for (const std::string& v : variant_order) {
      const std::string dash = kDashes[variants[v] % kDashCount];
      absl::StrAppend(
          html,
          "<li><svg class=\"dash\" width=\"22\" height=\"6\" viewBox=\"0 0 22 6\"><line x1=\"0\" "
          "x2=\"22\" y1=\"3\" y2=\"3\" stroke=\"#444\" stroke-width=\"1.6\"",
          dash.empty() ? "" : absl::StrCat(" stroke-dasharray=\"", dash, "\""), "/></svg>",
          HtmlEscape(v), "</li>");
    }
  }
  if (!chart.markers.empty())
    absl::StrAppend(html, "<li>\xE2\x9C\x95 dashed vertical: collapse confirmed</li>");
  absl::StrAppend(html, "</ul>\n</figure>\n");
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderReportHtml(const ReportInput& input) {
  const Colours colours(input);
  std::string html =
      absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
                   "<title>", HtmlEscape(input.title), "</title>\n<style>", kStyle,
                   "</style>\n</head>\n<body>\n<h1>", HtmlEscape(input.title), "</h1>\n");
  if (!input.subtitle.empty())
    absl::StrAppend(&html, "<p class=\"sub\">", HtmlEscape(input.subtitle), "</p>\n");
  if (input.has_verdict) {
    absl::StrAppend(&html, "<section class=\"verdict\">\n<h2>Verdict</h2>\n");
    AppendParagraphs(input.conclusion, &html);
    AppendMarkdown(input.table_markdown, &html);
    absl::StrAppend(&html, "</section>\n");
  }
  absl::StrAppend(&html, "<section class=\"charts\">\n<h2>Metrics</h2>\n");
  for (const ReportChart& chart : input.charts) AppendChart(chart, colours, &html);
  absl::StrAppend(&html, "</section>\n</body>\n</html>\n");
  return html;
}

}  // namespace jepalab::cli
