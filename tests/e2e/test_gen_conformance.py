"""scripts/gen_conformance.py (docs/conformance.md, `make conformance`) on a
small made-up suite, reports and expected files: no server needed."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
GEN = REPO / "scripts" / "gen_conformance.py"


def scenario(sid, level, ref):
    return "id: %s\ntitle: t %s\nref: %s\nlevel: %s\n\nC: NOOP\nS: 250\n" % (sid, sid, ref, level)


def report(verdicts):
    scs = []
    for sid, v in verdicts.items():
        steps = []
        if v == "fail":
            steps = [{"line": 5, "command": "NOOP", "violations": [
                {"rule": "expect.code", "severity": "error", "message": "m"}]}]
        scs.append({"id": sid, "verdict": v, "steps": steps,
                    "reason": "the server does not advertise X" if v == "skip" else None})
    s = {k: sum(1 for v in verdicts.values() if v == k) for k in ("pass", "fail", "skip", "error")}
    s["total"] = len(verdicts)
    return {"started": "2026-12-03T10:00:00Z", "summary": s, "scenarios": scs}


def test_cells_summary_and_findings(tmp_path):
    suite = tmp_path / "scenarios" / "core"
    suite.mkdir(parents=True)
    (suite / "a.smtp").write_text(scenario("core.a", "MUST", "RFC 5321 4.1.1"))
    (suite / "b.smtp").write_text(scenario("core.b", "SHOULD", "RFC 5321 4.3.2"))
    (suite / "c.smtp").write_text(scenario("core.c", "MUST", "RFC 1870 6.1"))
    (suite / "d.smtp").write_text(scenario("core.d", "SHOULD", "RFC 5321 3.5.2"))
    exp = tmp_path / "expected"
    exp.mkdir()
    fail = {"verdict": "fail", "rule": "expect.code", "command": "NOOP", "transcript": "t",
            "rfc": "RFC 5321 4.1.1: \"...\""}
    (exp / "srv1.json").write_text(json.dumps({"server": "srv1", "software": "srv1 1.2.3-4",
        "scenarios": {"core.a": dict(fail, why="Software: it answers | 500."),
                      "core.b": dict(fail, why="Configuration: the test's set-up refuses it."),
                      "core.c": {"verdict": "skip", "reason": "the server does not advertise X"},
                      "core.d": dict(fail, why="Software: a MUST of the model.")}}))
    (exp / "srv2.json").write_text(json.dumps({"server": "srv2", "software": "srv2 2:9.8",
        "scenarios": {},
        "warnings": [{"rule": "argument.not-taken", "command": "RSET", "code": 500,
                      "scenarios": ["core.b"], "reply": "500 x",
                      "rfc": "RFC 5321 4.1.1.5: \"...\"", "why": "Software: RSET x gets 500."}]}))
    reports = []
    for name, verdicts in (("srv1", {"core.a": "fail", "core.b": "fail", "core.c": "skip",
                                     "core.d": "fail"}),
                           ("srv2", {"core.a": "pass", "core.b": "pass", "core.c": "pass",
                                     "core.d": "pass"})):
        path = tmp_path / ("%s.json" % name)
        rep = report(verdicts)
        if name == "srv1":  # a MUST finding fails the SHOULD scenario core.d
            rep["findings"] = [
                {"verdict": "fail", "level": "MUST", "rule": "expect.code", "command": "NOOP",
                 "code": 500, "scenarios": ["core.d"], "message": "m4"}]
        if name == "srv2":  # a passing scenario with a warning, one the audit has not seen
            rep["findings"] = [
                {"verdict": "warn", "rule": "argument.not-taken", "command": "RSET",
                 "code": 500, "scenarios": ["core.b"], "message": "m1"},
                {"verdict": "warn", "rule": "rcpt.address-literal", "command": "RCPT",
                 "code": 501, "scenarios": ["core.a"], "message": "501 to a literal"},
                {"verdict": "fail", "rule": "expect.code", "command": "NOOP", "code": 500,
                 "scenarios": ["core.c"], "message": "m3"}]
        path.write_text(json.dumps(rep))
        reports += ["--report", "%s=%s" % (name, path)]
    out = tmp_path / "conformance.md"
    subprocess.run([sys.executable, str(GEN), "--out", str(out), "--expected", str(exp)]
                   + reports + [str(tmp_path / "scenarios")], check=True)
    text = out.read_text()
    assert "Runs of 2026-12-03 against srv1, srv2." in text
    # Summary: two MUST failures (software; core.d is a SHOULD scenario failed by
    # a MUST finding), one inconclusive (configuration), one skip.
    assert "| srv1 | srv1 1.2.3-4 | 0 | 2 | 0 | 0 | 1 | 1 | 0 |" in text, text
    assert "| srv2 | srv2 2:9.8 | 4 | 0 | 0 | 0 | 0 | 0 | 2 |" in text, text
    assert '<a id="srv1-core-d"></a>`core.d` (MUST): `expect.code` on NOOP.' in text, text
    # A passing cell with a warning says so, linked to the audited why.
    assert ('pass, [*warning*](#srv2-warn-argument-not-taken-rset-500 '
            '"Software: RSET x gets 500.")') in text, text
    assert ('<a id="srv2-warn-argument-not-taken-rset-500"></a>`argument.not-taken` on RSET '
            '(500), in `core.b`. Software: RSET x gets 500.') in text, text
    # One the audit has not recorded is listed as not judged.
    assert "on RCPT (501), in `core.a`. not judged yet: 501 to a literal" in text, text
    assert "| srv1 | 1 | Configuration: the test's set-up refuses it. |" in text, text
    # Columns name the versions; cells link to the finding with its why.
    assert "| srv1 1.2.3 | srv2 9.8 |" in text, text
    assert ('[**fail**](#srv1-core-a "Software: it answers \\| 500.")' in text), text
    assert "[*inconclusive*](#srv1-core-b " in text, text
    assert '<a id="srv1-core-a"></a>`core.a`' in text, text
    # Grouped by RFC.
    assert text.index("#### RFC 1870") < text.index("#### RFC 5321")
