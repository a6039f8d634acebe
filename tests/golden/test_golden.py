"""Golden reports: the whole JSON and text reports of scenarios/core against
the reference behaviour and a handful of representative mutants, compared
with the committed files in tests/golden/expected/.

Timestamps, durations, the port and the tool version are masked (mask_json,
mask_text); everything else - verdicts, rule ids, messages, transcripts,
step lines - must match byte for byte, so any change in verdicts or wording
shows up as a diff. Mutants whose verdict depends on a deadline are not used
here (their messages carry waited seconds).

An intended change: regenerate with

    SMTPCONFORM_GOLDEN_UPDATE=1 /usr/bin/python3 -m pytest -q tests/golden

and review the diff of tests/golden/expected/ before committing it.

Binaries: $SMTPCONFORM_BUILD (default build/). Standard library and pytest.
"""

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).resolve().parent / "expected"
sys.path.insert(0, str(ROOT / "fixtures"))
sys.path.insert(0, str(ROOT / "tests" / "selftest"))

import gen_mutants  # noqa: E402
import selftest  # noqa: E402

SCENARIOS = "scenarios/core"
TIMEOUT = 2
UPDATE = os.environ.get("SMTPCONFORM_GOLDEN_UPDATE", "") not in ("", "0")

# name -> mutant id (None: the reference behaviour). One per family, plus the
# control that must pass and the rules the harness gained for the self-test.
CASES = {
    "reference": None,
    "code-noop-251": "code.NOOP.251",
    "sequencing-rcpt-before-mail": "sequencing.rcpt-before-mail",
    "sequencing-greeting-554-250": "sequencing.greeting-554.250",
    "syntax-ehlo-multiline-code": "syntax.EHLO.multiline-code",
    "syntax-noop-unsolicited": "syntax.NOOP.unsolicited",
    "transport-noop-close-mid-reply": "transport.NOOP.close-mid-reply",
    "transport-split-bytes": "transport.split-bytes",
}


def build_dir():
    d = Path(os.environ.get("SMTPCONFORM_BUILD") or "build")
    return d if d.is_absolute() else ROOT / d


@pytest.fixture(scope="module")
def mutants():
    """{id: Mutant} generated from the bundled matrix and scenarios/core."""
    paths = sorted(str(p) for p in (ROOT / "fixtures" / "matrix").glob("*.tsv"))
    return {m.id: m for m in gen_mutants.generate(paths, str(ROOT / SCENARIOS), "rfc5321",
                                                  gen_mutants.DEFAULT_SEED, TIMEOUT)}


def mask_json(obj):
    """The JSON report with run-dependent values replaced."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("started", "duration_ms"):
                out[k] = "<masked>"
            elif k == "version":
                out[k] = "<version>"
            else:
                out[k] = mask_json(v)
        return out
    if isinstance(obj, list):
        return [mask_json(v) for v in obj]
    if isinstance(obj, str):
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", obj)
    return obj


def mask_text(text):
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\(\d+ ms\)", "(<ms> ms)", text)
    text = re.sub(r"^smtpconform \S+:", "smtpconform <version>:", text, flags=re.M)
    return text


def run_case(tmp_path, behaviour):
    binary = build_dir() / "smtpconform"
    fixture = build_dir() / "smtpfixture"
    if not binary.exists() or not fixture.exists():
        pytest.fail("build the binaries first (make): %s" % build_dir(), pytrace=False)
    fx = selftest.Fixture(str(fixture), str(behaviour) if behaviour else None)
    try:
        json_path, text_path = tmp_path / "report.json", tmp_path / "report.txt"
        proc = subprocess.run(
            [str(binary), "run", "-t", fx.target, "--timeout", str(TIMEOUT), "-j", "8", "-q",
             "--report", "json:%s" % json_path, "--report", "text:%s" % text_path, SCENARIOS],
            cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    finally:
        fx.stop()
    assert proc.returncode in (0, 1), proc.stderr.decode("utf-8", "replace")
    report = json.loads(json_path.read_text(encoding="utf-8"))
    return (json.dumps(mask_json(report), indent=1, ensure_ascii=False) + "\n",
            mask_text(text_path.read_text(encoding="utf-8")))


def compare(path, actual):
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail("%s is missing: run with SMTPCONFORM_GOLDEN_UPDATE=1 and review it"
                    % path.relative_to(ROOT), pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True),
            "%s (expected)" % path.relative_to(ROOT), "(this run)", n=2))
        if len(diff) > 12000:
            diff = diff[:12000] + "\n... (diff cut)\n"
        pytest.fail("report differs from %s; if the change is intended, regenerate with "
                    "SMTPCONFORM_GOLDEN_UPDATE=1 and review the diff\n%s"
                    % (path.relative_to(ROOT), diff), pytrace=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_report(name, mutants, tmp_path):
    mid = CASES[name]
    behaviour = None
    if mid is not None:
        assert mid in mutants, "gen_mutants.py no longer generates %s" % mid
        behaviour = tmp_path / ("%s.beh" % mid)
        behaviour.write_text(mutants[mid].table(), encoding="latin-1")
    json_text, text = run_case(tmp_path, behaviour)
    compare(EXPECTED / ("%s.json" % name), json_text)
    compare(EXPECTED / ("%s.txt" % name), text)


def test_masks_hide_only_run_dependent_values():
    report = {"tool": {"name": "smtpconform", "version": "9.9"}, "started": "2026-01-01T00:00:00Z",
              "duration_ms": 5, "target": "127.0.0.1:4242",
              "scenarios": [{"duration_ms": 3, "transcript": "S: 250 OK\n"}]}
    masked = mask_json(report)
    assert masked["tool"] == {"name": "smtpconform", "version": "<version>"}
    assert masked["target"] == "127.0.0.1:<port>"
    assert masked["scenarios"][0] == {"duration_ms": "<masked>", "transcript": "S: 250 OK\n"}
    assert mask_text("smtpconform 0.1.0: target 127.0.0.1:555\nPASS x (12 ms)\n") == \
        "smtpconform <version>: target 127.0.0.1:<port>\nPASS x (<ms> ms)\n"
