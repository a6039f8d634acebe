#!/usr/bin/env python3
"""gen_report_docs.py - the examples in docs/reports.md, rendered from one
fixed run so they cannot drift from what the harness prints.

The run is tests/golden/expected/code-noop-251.json (scenarios/core against
the fixture server answering NOOP with 251) with its masked values filled in
(version 0.1.0, target 127.0.0.1:2525, a fixed start time and durations). Each
format is rendered with `smtpconform report --from` and put between the
markers of docs/reports.md:

    <!-- generated: FORMAT -->
    ...
    <!-- end generated -->

--check exits 1 (printing a diff) when docs/reports.md differs from what it
would write; tests/e2e/test_docs.py runs it. Standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from docgen import write_or_check

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "tests" / "golden" / "expected" / "code-noop-251.json"
DOC = ROOT / "docs" / "reports.md"
EXAMPLE = "core.noop.basic"  # the failing scenario the JSON, JUnit and TAP excerpts show
MARK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def fixed_run():
    """The golden run with its masked values made concrete."""
    doc = json.loads(RUN.read_text(encoding="utf-8"))
    doc["tool"]["version"] = "0.1.0"
    doc["target"] = "127.0.0.1:2525"
    doc["started"] = "2026-11-23T04:32:22Z"
    doc["duration_ms"] = 118
    for sc in doc["scenarios"]:
        sc["duration_ms"] = 4
    return doc


def render(binary, run_json, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("out." + fmt)
        res = subprocess.run([binary, "report", "--from", run_json, "--report",
                              "%s:%s" % (fmt, out)], capture_output=True, text=True)
        if res.returncode not in (0, 1):
            sys.exit("gen_report_docs: %s report --from failed (%d): %s"
                     % (binary, res.returncode, res.stderr))
        return out.read_text(encoding="utf-8")


def excerpt(fmt, text):
    """What the docs show of each format: all of text and md, the findings
    and EXAMPLE's failing step of JSON, EXAMPLE's test case of JUnit and TAP."""
    if fmt in ("text", "md"):
        return text
    if fmt == "json":
        doc = json.loads(text)
        failing = next(sc for sc in doc["scenarios"] if sc["id"] == EXAMPLE)
        step = next(st for st in failing["steps"] if st["violations"])
        return json.dumps({"findings": doc["findings"][:1],
                           "scenarios[%d].steps[k].violations" % doc["scenarios"].index(failing):
                           step["violations"]}, indent=2, ensure_ascii=False) + "\n"
    lines = text.splitlines(keepends=True)
    if fmt == "junit":
        start = next(i for i, l in enumerate(lines) if 'name="%s"' % EXAMPLE in l)
        end = next(i for i in range(start, len(lines)) if "</testcase>" in lines[i]) + 1
        return "".join(lines[:3]) + "  ...\n" + "".join(lines[start:end]) + "  ...\n"
    if fmt == "tap":
        start = next(i for i, l in enumerate(lines)
                     if l.startswith("not ok") and " %s " % EXAMPLE in l)
        end = next(i for i in range(start, len(lines)) if lines[i] == "  ...\n") + 1
        return "".join(lines[:3]) + "...\n" + "".join(lines[start:end]) + "...\n" + lines[-1]
    raise ValueError(fmt)


FENCE = {"text": "", "md": "markdown", "json": "json", "junit": "xml", "tap": ""}


def generate(binary):
    doc = DOC.read_text(encoding="utf-8")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(fixed_run(), f)
        run_json = f.name
    try:
        def block(m):
            fmt = m.group(2)
            body = excerpt(fmt, render(binary, run_json, fmt))
            fence = "````" if "```" in body else "```"
            return "%s%s%s\n%s%s\n%s" % (m.group(1), fence, FENCE[fmt], body, fence, m.group(4))
        found = sorted(m.group(2) for m in MARK.finditer(doc))
        if found != sorted(FENCE):
            sys.exit("gen_report_docs: docs/reports.md has markers for %s, expected one each "
                     "for %s" % (", ".join(found) or "nothing", ", ".join(sorted(FENCE))))
        return MARK.sub(block, doc)
    finally:
        os.unlink(run_json)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/reports.md is stale")
    ap.add_argument("--binary", default=str(ROOT / os.environ.get("SMTPCONFORM_BUILD", "build")
                                           / "smtpconform"))
    args = ap.parse_args()
    return write_or_check(DOC, generate(args.binary), args.check, "docs/reports.md")


if __name__ == "__main__":
    sys.exit(main())
