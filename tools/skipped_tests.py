#!/usr/bin/env python3
"""Prints one line per skipped test case found in the gtest XML files given as arguments:
"Suite.Case: message". tools/test.sh counts them for its closing line."""
import sys
import xml.etree.ElementTree as ET


def main(paths):
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError) as error:
            print(f"{path}: unreadable test.xml: {error}", file=sys.stderr)
            continue
        for case in root.iter("testcase"):
            skipped = case.find("skipped")
            if case.get("result") != "skipped" and skipped is None:
                continue
            message = (skipped.get("message", "") if skipped is not None else "").strip()
            message = message.splitlines()[-1] if message else ""
            print(f"{case.get('classname')}.{case.get('name')}: {message}")


if __name__ == "__main__":
    main(sys.argv[1:])
