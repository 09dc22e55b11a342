#!/usr/bin/env python3
"""Checks the include boundaries between the services (STYLE.md section 2; issue 11): each
service's code includes only its own headers, common/, config/ and proto/; the CLI, config/ and
common/ include no service; end-to-end tests reach the services over gRPC, never through their
cores. bench/ and fuzz/ measure and fuzz service internals and may include them. Bazel visibility
says the same for the build graph; this check also covers a header reached without a BUILD dep.

Usage: tools/check_layering.py [REPO_ROOT]; prints each violation as path:line and exits 1.
"""
import os
import re
import sys

SERVICES = ("trainer_service", "scheduler_service", "metrics_service")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def allowed(source_top, header):
    header_top = header.split("/", 1)[0]
    if header_top not in SERVICES + ("cli",):
        return True  # common/, config/, proto/, third-party headers
    if source_top in ("bench", "fuzz"):
        return header_top in SERVICES  # internals under test, never the CLI
    return header_top == source_top


def violations(root):
    for top in SERVICES + ("cli", "common", "config", "tests", "bench", "fuzz"):
        for directory, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not name.endswith((".cc", ".h")):
                    continue
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8", errors="replace") as source:
                    for number, line in enumerate(source, 1):
                        match = INCLUDE.match(line)
                        if match and not allowed(top, match.group(1)):
                            yield f"{os.path.relpath(path, root)}:{number}: includes {match.group(1)}"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    found = list(violations(root))
    for line in found:
        print(line)
    if found:
        print(f"layering: {len(found)} include(s) cross a service boundary (tools/check_layering.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
