#!/usr/bin/python3
"""Checks a `jepalab report` page the way a reader sees it (tests/plan_e2e_test.cc).

  report_render_check.py REPORT.html SCREENSHOT.png --chart "Training loss=run_a,run_b" ...

1. Structure: the page parses with html.parser, every non-void element is closed in order, and
   each --chart TITLE=RUNS names a chart (<figure class="chart">, title in <h3>) that holds one
   line (<polyline data-run=...>) per listed run.
2. Rendering: headless Chromium screenshots file://REPORT.html (time-bounded); the PNG, decoded
   here with zlib, must not be blank (enough pixels differ from the white background) and must
   show the stroke colour of every run's lines.
Prints one "FAIL: ..." line per problem and exits 1, or prints "OK ..." and exits 0. Python
stdlib only.
"""
import argparse
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
BACKGROUND = (255, 255, 255)
COLOUR_TOLERANCE = 8          # per channel: anti-aliasing shifts edge pixels, line centres keep the colour
MIN_INK_FRACTION = 0.01       # share of the screenshot that must differ from the background
MIN_PIXELS_PER_COLOUR = 40    # a drawn 760-unit line has hundreds


class ReportParser(html.parser.HTMLParser):
    """Collects nesting errors and, per chart, its title and the runs of its lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.charts = []          # [{"title": str, "runs": [run...], "strokes": {run: colour}}]
        self.in_chart_title = False
        self.doctype = False

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower().startswith("doctype html")

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure" and "chart" in (attrs.get("class") or "").split():
            self.charts.append({"title": "", "runs": [], "strokes": {}})
        if tag == "h3" and self.charts and "figure" in self.stack:
            self.in_chart_title = True
        if tag == "polyline" and self.charts and "figure" in self.stack:
            run = attrs.get("data-run", "")
            self.charts[-1]["runs"].append(run)
            self.charts[-1]["strokes"][run] = attrs.get("stroke", "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        # <line .../> in SVG: opened and closed at once; run the start logic without pushing.
        if tag in VOID:
            self.handle_starttag(tag, attrs)
            return
        self.handle_starttag(tag, attrs)
        self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> at line {self.getpos()[0]} closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "h3":
            self.in_chart_title = False

    def handle_data(self, data):
        if self.in_chart_title:
            self.charts[-1]["title"] += data


def check_structure(text, expected):
    """expected: {chart title: [runs]}. Returns (problems, {run: stroke colour})."""
    parser = ReportParser()
    parser.feed(text)
    parser.close()
    problems = list(parser.errors)
    if not parser.doctype:
        problems.append("no <!DOCTYPE html>")
    if parser.stack:
        problems.append(f"elements never closed: {parser.stack}")
    by_title = {}
    for chart in parser.charts:
        if chart["title"] in by_title:
            problems.append(f"chart {chart['title']!r} appears twice")
        by_title[chart["title"]] = chart
    strokes = {}
    for title, runs in expected.items():
        chart = by_title.get(title)
        if chart is None:
            problems.append(f"no chart {title!r} (charts: {sorted(by_title)})")
            continue
        for run in runs:
            if run not in chart["runs"]:
                problems.append(f"chart {title!r} has no line for run {run!r} (lines: {chart['runs']})")
            else:
                strokes[run] = chart["strokes"][run]
    return problems, strokes, len(parser.charts)


def screenshot(chromium, page, png, timeout):
    """Headless Chromium, bounded by `timeout` seconds; returns a problem or None."""
    profile = tempfile.mkdtemp(prefix="chromium_profile_")
    env = dict(os.environ, HOME=profile)  # the sandbox may leave HOME unwritable
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={png}", "--window-size=1280,2000", "file://" + os.path.abspath(page)]
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return f"chromium did not finish within {timeout} s"
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not os.path.exists(png) or os.path.getsize(png) == 0:
        tail = done.stdout.decode(errors="replace")[-2000:]
        return f"chromium wrote no screenshot (exit {done.returncode}): {tail}"
    return None


def decode_png(data):
    """8-bit RGB or RGBA, non-interlaced (what Chromium writes) -> (width, height, rows of RGB tuples)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    width = height = depth = colour_type = interlace = None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if depth != 8 or colour_type not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + predictor) & 0xFF
            elif kind != 0:
                raise ValueError(f"bad PNG filter {kind} on row {y}")
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return width, height, rows


def hex_colour(text):
    text = text.lstrip("#")
    return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))


def check_pixels(png, strokes):
    with open(png, "rb") as f:
        width, height, rows = decode_png(f.read())
    counts = {}
    for row in rows:
        for pixel in row:
            counts[pixel] = counts.get(pixel, 0) + 1
    total = width * height
    ink = total - counts.get(BACKGROUND, 0)
    problems = []
    if ink < MIN_INK_FRACTION * total:
        problems.append(f"screenshot is blank: {ink} of {total} pixels differ from the background")
    found = {}
    for run, colour in strokes.items():
        target = hex_colour(colour)
        found[run] = sum(n for pixel, n in counts.items()
                         if all(abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(pixel, target)))
        if found[run] < MIN_PIXELS_PER_COLOUR:
            problems.append(f"run {run!r}: its line colour {colour} covers {found[run]} pixels, "
                            f"expected >= {MIN_PIXELS_PER_COLOUR}")
    return problems, f"{width}x{height}, {ink} non-background pixels, line colours {found}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("screenshot")
    parser.add_argument("--chart", action="append", default=[], help="TITLE=run,run: the lines that chart must hold")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()

    expected = {}
    for spec in args.chart:
        title, _, runs = spec.partition("=")
        expected[title] = [r for r in runs.split(",") if r]
    with open(args.report, encoding="utf-8") as f:
        problems, strokes, chart_count = check_structure(f.read(), expected)

    chromium = shutil.which(args.chromium)
    if chromium is None:
        problems.append(f"{args.chromium} not found: install Debian's chromium (tools/setup.sh does)")
        summary = ""
    else:
        problem = screenshot(chromium, args.report, args.screenshot, args.timeout)
        if problem:
            problems.append(problem)
            summary = ""
        else:
            pixel_problems, summary = check_pixels(args.screenshot, strokes)
            problems += pixel_problems
    for problem in problems:
        print("FAIL:", problem)
    if problems:
        return 1
    print(f"OK {chart_count} charts; screenshot {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
