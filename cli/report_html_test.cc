#include "cli/report_html.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

// The "points" attribute of the polyline of `run` (and `variant`), or "" if there is none.
std::string PolylinePoints(const std::string& html, const std::string& run,
                           const std::string& variant = "") {
  const std::string key = "data-run=\"" + run + "\" data-variant=\"" + variant + "\"";
  const size_t at = html.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = html.find("points=\"", at) + 8;
  return html.substr(begin, html.find('"', begin) - begin);
}

int PointCount(const std::string& points) {
  return points.empty()
             ? 0
             : static_cast<int>(std::vector<std::string>(absl::StrSplit(points, ' ')).size());
}

ReportSeries Series(const std::string& run, const std::string& variant, int n, double base = 1.0) {
  ReportSeries s{run, variant, {}};
  for (int i = 0; i < n; ++i) s.points.push_back({i * 100, base / (1 + i)});
  return s;
}

ReportInput ThreeChartInput() {
  ReportInput input;
  input.title = "plan vq_diagnostic-0001";
  input.runs = {"baseline", "no_vq"};
  ReportChart loss{"Training loss", "loss/total", ReportScale::kLinear, {}, {}};
  loss.series = {Series("baseline", "", 5), Series("no_vq", "", 3)};
  loss.markers = {{"baseline", 300, "embedding_rank/context"}};
  ReportChart rank{"Effective rank", "context", ReportScale::kLinear, {}, {}};
  rank.series = {Series("baseline", "rankme", 4), Series("baseline", "reference", 4),
                 Series("no_vq", "rankme", 2)};
  ReportChart iso{"Isotropy", "context", ReportScale::kAuto, {}, {}};
  iso.series = {Series("baseline", "robust", 6, 1.0)};
  iso.series[0].points.push_back({600, 1e-6});
  input.charts = {loss, rank, iso};
  return input;
}

TEST(ReportHtmlTest, OneSvgPerChartAndPolylinesWithEveryPoint) {
  const std::string html = RenderReportHtml(ThreeChartInput());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_THAT(html, HasSubstr("</html>"));
  EXPECT_EQ(Count(html, "<svg class=\"plot\""), 3);
  EXPECT_EQ(Count(html, "<svg"), Count(html, "</svg>"));
  EXPECT_EQ(Count(html, "<polyline"), 6);
  EXPECT_EQ(PointCount(PolylinePoints(html, "baseline")), 5);
  EXPECT_EQ(PointCount(PolylinePoints(html, "no_vq")), 3);
  EXPECT_EQ(PointCount(PolylinePoints(html, "baseline", "reference")), 4);
  EXPECT_EQ(PointCount(PolylinePoints(html, "baseline", "robust")), 7);
}

TEST(ReportHtmlTest, LegendNamesRunsAndVariantsWithOneColourPerRun) {
  const std::string html = RenderReportHtml(ThreeChartInput());
  EXPECT_THAT(
      html,
      HasSubstr("<span class=\"swatch\" style=\"border-color:#4e79a7\"></span>baseline</li>"));
  EXPECT_THAT(html,
              HasSubstr("<span class=\"swatch\" style=\"border-color:#f28e2b\"></span>no_vq</li>"));
  EXPECT_THAT(html, HasSubstr("</svg>rankme</li>"));
  EXPECT_THAT(html, HasSubstr("</svg>reference</li>"));
  // The same run has the same colour in every chart.
  EXPECT_EQ(Count(html, "data-run=\"no_vq\" data-variant=\"\" stroke=\"#f28e2b\""), 1);
  EXPECT_EQ(Count(html, "data-run=\"no_vq\" data-variant=\"rankme\" stroke=\"#f28e2b\""), 1);
}

TEST(ReportHtmlTest, DrawsCollapseMarkers) {
  const std::string html = RenderReportHtml(ThreeChartInput());
  EXPECT_EQ(Count(html, "<line class=\"marker\""), 1);
  EXPECT_THAT(html, HasSubstr("baseline: collapse at step 300 (embedding_rank/context)"));
}

TEST(ReportHtmlTest, IsotropySpanningDecadesIsLogScale) {
  const std::string html = RenderReportHtml(ThreeChartInput());
  EXPECT_EQ(Count(html, "step (log scale)"), 1);
  EXPECT_THAT(html, HasSubstr(">1e-06</text>"));
}

TEST(ReportHtmlTest, EscapesEveryText) {
  ReportInput input;
  input.title = "a <b> & \"c\"";
  input.has_verdict = true;
  input.conclusion = "VQ is the cause: <script>alert(1)</script>\n\nsecond paragraph";
  input.table_markdown = "| run | verdict |\n|---|---|\n| <script>x</script> | stable |\n";
  ReportChart chart{"Loss <i>",
                    "",
                    ReportScale::kLinear,
                    {Series("<script>alert('x')</script>", "", 2)},
                    {{"<script>alert('x')</script>", 100, "<b>"}}};
  input.charts = {chart};
  const std::string html = RenderReportHtml(input);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  EXPECT_THAT(html, Not(HasSubstr("<i>")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"));
}

TEST(ReportHtmlTest, VerdictTableAndParagraphs) {
  ReportInput input;
  input.title = "t";
  input.has_verdict = true;
  input.conclusion = "VQ is the cause.\n\nBest fix: no refresh.";
  input.table_markdown =
      "| run | verdict |\n|---|---|\n| baseline | collapsed at step 800 |\n| no_vq | stable |\n";
  const std::string html = RenderReportHtml(input);
  EXPECT_THAT(html, HasSubstr("<h2>Verdict</h2>"));
  EXPECT_THAT(html, HasSubstr("<p>VQ is the cause.</p>\n<p>Best fix: no refresh.</p>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>run</th><th>verdict</th></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><td>baseline</td><td>collapsed at step 800</td></tr>"));
  EXPECT_EQ(Count(html, "<tr>"), 3);
  EXPECT_THAT(html, Not(HasSubstr("---")));
}

TEST(ReportHtmlTest, NoVerdictSectionWithoutVerdict) {
  EXPECT_THAT(RenderReportHtml(ThreeChartInput()), Not(HasSubstr("Verdict")));
}

TEST(ReportHtmlTest, SelfContained) {
  ReportInput input = ThreeChartInput();
  input.has_verdict = true;
  input.conclusion = "c";
  const std::string html = RenderReportHtml(input);
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
}

TEST(ReportHtmlTest, EmptyAndNonFiniteSeries) {
  ReportInput input;
  input.title = "t";
  ReportChart empty{"Empty", "", ReportScale::kLinear, {}, {}};
  ReportChart no_points{"No points", "", ReportScale::kLinear, {ReportSeries{"r", "", {}}}, {}};
  ReportSeries diverged{"d",
                        "",
                        {{0, 1.0},
                         {10, std::numeric_limits<double>::quiet_NaN()},
                         {20, std::numeric_limits<double>::infinity()},
                         {30, 0.5}}};
  ReportChart partial{"Partial", "", ReportScale::kAuto, {diverged, ReportSeries{"r", "", {}}}, {}};
  ReportChart single{"Single", "", ReportScale::kLinear, {ReportSeries{"s", "", {{5, 2.0}}}}, {}};
  input.charts = {empty, no_points, partial, single};
  const std::string html = RenderReportHtml(input);
  EXPECT_EQ(Count(html, "<svg class=\"plot\""), 4);
  EXPECT_EQ(Count(html, ">no data</text>"), 2);
  EXPECT_EQ(PointCount(PolylinePoints(html, "d")), 2);
  EXPECT_EQ(PointCount(PolylinePoints(html, "s")), 1);
  EXPECT_EQ(Count(html, "<circle"), 1);
  EXPECT_THAT(html, Not(HasSubstr("nan")));
  EXPECT_THAT(html, Not(HasSubstr("inf\"")));
}

}  // namespace
}  // namespace jepalab::cli
