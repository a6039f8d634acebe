"""Generated docs stay true (issue 12 item 9): docs/suite.md must be what
scripts/gen_suite.py makes of the scenario headers, and the examples in
docs/reports.md what scripts/gen_report_docs.py renders from the golden run
(tests/golden/expected/code-noop-251.json) with the harness. Either script
prints the diff; `make docs` regenerates both."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def build_dir():
    d = Path(os.environ.get("SMTPCONFORM_BUILD") or "build")
    return d if d.is_absolute() else ROOT / d


@pytest.mark.parametrize("script", ["gen_suite.py", "gen_report_docs.py"])
def test_generated_doc_is_current(script):
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--check",
                          "--binary", str(build_dir() / "smtpconform")]
                         if script == "gen_report_docs.py" else
                         [sys.executable, str(ROOT / "scripts" / script), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, "%s --check: %s\n%s" % (script, res.stderr, res.stdout[-4000:])


def test_suite_doc_names_every_family():
    doc = (ROOT / "docs" / "suite.md").read_text(encoding="utf-8")
    for d in sorted((ROOT / "scenarios").iterdir()):
        if d.is_dir() and d.name != "_lib":
            assert "[`%s/`]" % d.name in doc, "docs/suite.md lacks %s/" % d.name
