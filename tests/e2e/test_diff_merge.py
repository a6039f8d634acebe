"""Shards, merge, report --from and diff on real runs (issue 6 items 4-5):
the bundled suite against the fixture server, split with --shard and joined
with merge, must equal one whole run; diff must name exactly what a mutant
breaks and exit 1 for it."""

import json

import pytest

import servers

SUITE = "scenarios"


def run(target, tmp_path, name, extra=()):
    res = servers.run_harness(["run", "-t", target, "-j", "8", "--timeout", "3", "-q"] + list(extra)
                              + [SUITE], json_report=tmp_path / (name + ".json"), timeout=120)
    assert res.report is not None, res.describe()
    return res


def harness(args):
    return servers.run_harness(args, timeout=60)


def test_shards_merge_to_the_whole_run(fixture_server, tmp_path):
    srv = fixture_server("reference")
    whole = run(srv.target, tmp_path, "whole").report
    parts = []
    for k in (1, 2, 3):
        parts.append(run(srv.target, tmp_path, "s%d" % k, ["--shard", "%d/3" % k]).report)
    ids = [sc["id"] for p in parts for sc in p["scenarios"]]
    assert len(ids) == len(set(ids)), "a scenario ran in two shards"
    assert sorted(ids) == sorted(sc["id"] for sc in whole["scenarios"])
    assert all(p["scenarios"] for p in parts), "a shard is empty"
    merged = tmp_path / "merged.json"
    res = harness(["merge"] + [str(tmp_path / ("s%d.json" % k)) for k in (1, 2, 3)]
                  + ["--report", "json:%s" % merged])
    assert res.returncode == 0, res.describe()
    m = json.loads(merged.read_text())
    assert m["summary"] == whole["summary"]
    assert {sc["id"]: sc["verdict"] for sc in m["scenarios"]} == \
        {sc["id"]: sc["verdict"] for sc in whole["scenarios"]}
    # Every format renders again from the merged JSON.
    xml = tmp_path / "m.xml"
    res = harness(["report", "--from", str(merged), "--report", "junit:%s" % xml,
                   "--report", "text:%s" % (tmp_path / "m.txt")])
    assert res.returncode == 0, res.describe()
    assert xml.read_text().count("<testcase ") == whole["summary"]["total"]
    # A shard twice is refused.
    res = harness(["merge", str(tmp_path / "s1.json"), str(tmp_path / "s1.json")])
    assert res.returncode == 2 and "in shard 1 and shard 2" in res.stderr, res.describe()


def test_diff_names_what_regressed(fixture_server, tmp_path):
    good = run(fixture_server("reference").target, tmp_path, "good").report
    bad = run(fixture_server("noop-251").target, tmp_path, "bad").report
    failed = sorted(sc["id"] for sc in bad["scenarios"] if sc["verdict"] == "fail")
    assert failed, "noop-251 should fail some scenarios"
    res = harness(["diff", str(tmp_path / "good.json"), str(tmp_path / "bad.json")])
    assert res.returncode == 1, res.describe()
    assert "%d regressed, 0 fixed" % len(failed) in res.stdout, res.stdout
    for sid in failed:
        assert sid in res.stdout
    assert "matrix.not-allowed on NOOP" in res.stdout
    # The other way round nothing regressed: exit 0, all fixed, in Markdown.
    res = harness(["diff", "--md", str(tmp_path / "bad.json"), str(tmp_path / "good.json")])
    assert res.returncode == 0, res.describe()
    assert "### Fixed (%d)" % len(failed) in res.stdout
    # Same run twice: nothing at all.
    res = harness(["diff", str(tmp_path / "good.json"), str(tmp_path / "good.json")])
    assert res.returncode == 0 and "0 regressed, 0 fixed, 0 changed" in res.stdout
    # A scenario the new run could not test is neither fixed nor passing:
    # listed with its reason, exit 4 (a failure may hide there).
    untested = json.loads((tmp_path / "bad.json").read_text())
    for sc in untested["scenarios"]:
        if sc["id"] in (failed[0], "core.quit.basic"):
            sc["verdict"], sc["reason"] = "inconclusive", "setup: EHLO answered with 421 (x)"
    (tmp_path / "untested.json").write_text(json.dumps(untested))
    res = harness(["diff", str(tmp_path / "bad.json"), str(tmp_path / "untested.json")])
    assert res.returncode == 4, res.describe()
    assert "0 regressed, 0 fixed, 0 changed, 2 no longer tested" in res.stdout, res.stdout
    assert "%s: fail -> inconclusive: setup: EHLO answered with 421 (x)" % failed[0] in res.stdout
    assert "core.quit.basic: pass -> inconclusive" in res.stdout, res.stdout


def test_bad_inputs_exit_2(tmp_path):
    not_json = tmp_path / "x.json"
    not_json.write_text("{nope")
    res = harness(["diff", str(not_json), str(not_json)])
    assert res.returncode == 2 and "x.json:1:" in res.stderr, res.describe()
    res = harness(["report", "--from", str(tmp_path / "missing.json")])
    assert res.returncode == 2 and "missing.json" in res.stderr, res.describe()
    res = harness(["run", "--shard", "4/3", "scenarios/core"])
    assert res.returncode == 2, res.describe()


def minimal_report(**scenario):
    sc = {"id": "core.x", "verdict": "fail", "steps": [
        {"line": 3, "command": "NOOP", "reply": {"code": 250, "lines": ["250 OK"]},
         "verdict": "fail", "violations": [{"rule": "expect.code", "severity": "error"}]}]}
    sc.update(scenario)
    return {"tool": {"name": "smtpconform", "version": "0"}, "target": "t", "scenarios": [sc]}


WRONG_TYPES = [
    # (how the report is broken, the field and what the message says)
    (lambda r: r["scenarios"][0]["steps"][0]["reply"].update(code="250"),
     "scenarios[0].steps[0].reply.code: expected an integer, got a string"),
    (lambda r: r["scenarios"][0].update(id=7), "scenarios[0].id: expected a string, got an integer"),
    (lambda r: r["scenarios"][0].update(tags=["a", {}]),
     "scenarios[0].tags[1]: expected a string, got an object"),
    (lambda r: r["scenarios"][0].update(verdict="passed"), "scenarios[0].verdict: expected one of"),
    (lambda r: r["scenarios"][0].update(steps={}), "scenarios[0].steps: expected an array"),
    (lambda r: r["scenarios"][0]["steps"][0].update(line=-4),
     "scenarios[0].steps[0].line: expected an integer from 0"),
    (lambda r: r["scenarios"][0]["steps"][0]["violations"][0].update(severity=1),
     "scenarios[0].steps[0].violations[0].severity: expected \"error\", \"warn\" or \"note\", got an integer"),
    (lambda r: r.update(strict="yes"), "strict: expected true or false, got a string"),
    (lambda r: r.update(duration_ms=1.5), "duration_ms: expected an integer, got a real number"),
    (lambda r: r["scenarios"].append([]), "scenarios[1]: expected an object, got an array"),
    # Found by fuzz_json: diff matched scenarios without ids to each other.
    (lambda r: r["scenarios"][0].pop("id"), "scenarios[0].id: expected a scenario id, got none"),
    (lambda r: r["scenarios"].append(dict(r["scenarios"][0], verdict="pass")),
     "scenarios[1].id: expected an id no other scenario has, got \"core.x\" again (also "
     "scenarios[0])"),
]


@pytest.mark.parametrize("case", range(len(WRONG_TYPES)))
@pytest.mark.parametrize("cmd", ["report", "merge", "diff", "baseline"])
def test_wrong_types_name_the_field(tmp_path, case, cmd):
    """A report field of the wrong type is an error naming it (issue 9 item 10)."""
    good = tmp_path / "good.json"
    good.write_text(json.dumps(minimal_report()))
    report = minimal_report()
    breaks, message = WRONG_TYPES[case]
    breaks(report)
    bad = tmp_path / "RUN.json"
    bad.write_text(json.dumps(report))
    argv = {"report": ["report", "--from", str(bad), "--report", "text"],
            "merge": ["merge", str(bad)],
            "diff": ["diff", str(good), str(bad)],
            "baseline": ["run", "-t", "127.0.0.1:%d" % servers.closed_port(), "--baseline",
                         str(bad), "scenarios/core/greeting-basic.smtp"]}[cmd]
    res = harness(argv)
    assert res.returncode == 2, res.describe()
    assert "RUN.json: " + message in res.stderr, res.describe()


def test_good_minimal_report_loads(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(minimal_report()))
    res = harness(["report", "--from", str(good), "--report", "text"])
    # exit 1: report --from exits with the run's verdict, and core.x failed
    assert res.returncode == 1 and "core.x" in res.stdout, res.describe()


def test_report_and_merge_exit_with_the_run_verdict(fixture_server, tmp_path):
    """`report --from` and `merge` exit like the run they render: 1 for a
    failed run, 3 for one with an error verdict, 0 for a pass (issue 12 item 8)."""
    run(fixture_server("noop-251").target, tmp_path, "bad")
    bad = tmp_path / "bad.json"
    res = harness(["report", "--from", str(bad), "--report", "md:%s" % (tmp_path / "b.md")])
    assert res.returncode == 1, res.describe()
    res = harness(["merge", str(bad), "--report", "json:%s" % (tmp_path / "m.json")])
    assert res.returncode == 1, res.describe()
    # The same run with its failures turned into one harness error.
    doc = json.loads(bad.read_text())
    for sc in doc["scenarios"]:
        if sc["verdict"] == "fail":
            sc["verdict"] = "pass"
    doc["scenarios"][0]["verdict"] = "error"
    doc["scenarios"][0]["reason"] = "connect: Connection refused"
    errored = tmp_path / "errored.json"
    errored.write_text(json.dumps(doc))
    res = harness(["report", "--from", str(errored), "--report", "text:%s" % (tmp_path / "e.txt")])
    assert res.returncode == 3, res.describe()
    res = harness(["merge", str(errored), "--report", "json:%s" % (tmp_path / "e.json")])
    assert res.returncode == 3, res.describe()


def test_report_puts_several_runs_side_by_side(fixture_server, tmp_path):
    """`report --from A --from B --report html:T` renders the cross-server
    table (issue 13 item 3): one column per run, every scenario one row, a
    failing cell links to the finding that decided it, and that finding is
    on the page with its level, rule and RFC section."""
    good = run(fixture_server("reference").target, tmp_path, "good").report
    bad = run(fixture_server("noop-251").target, tmp_path, "bad").report
    failed = sorted(sc["id"] for sc in bad["scenarios"] if sc["verdict"] == "fail")
    assert failed
    html, md = tmp_path / "t.html", tmp_path / "t.md"
    res = harness(["report", "--from", "reference=%s" % (tmp_path / "good.json"),
                   "--from", str(tmp_path / "bad.json"),
                   "--report", "html:%s" % html, "--report", "md:%s" % md])
    assert res.returncode == 0, res.describe()
    page = html.read_text()
    assert "<th scope=\"col\">reference<br>" in page and "<th scope=\"col\">bad<br>" in page
    assert page.count("<th scope=\"row\" class=\"sc\">") == len(good["scenarios"])
    import re
    for sid in failed:
        row = re.search(r'<code>%s</code>.*?</tr>' % re.escape(sid), page)
        assert row, sid
        cells = re.findall(r'<td class="c (\w+)">(?:<a href="#(r\d+-f\d+)")?', row.group(0))
        assert cells[0][0] == "pass" and cells[1][0] == "fail", (sid, cells)
        anchor = cells[1][1]
        assert anchor.startswith("r1-"), (sid, cells)
        finding = re.search(r'id="%s">(.*?)</div>' % anchor, page, re.S)
        assert finding, (sid, anchor)
        assert re.match(r"<b>FAIL</b> (MUST|SHOULD) <code>[a-z.-]+</code> \(RFC \d+ ",
                        finding.group(1)), finding.group(1)
        assert "sent <code>NOOP" in finding.group(1) and "reply <code>251 " in finding.group(1)
    text = md.read_text()
    assert "| scenario | reference | bad |" in text
    assert re.search(r"\| %s \| pass \| fail \([a-z.-]+\) \|"
                     % re.escape(failed[0].replace("_", "\\_")), text), text[:2000]
    # Formats that have no side-by-side form are refused before anything is written.
    res = harness(["report", "--from", str(tmp_path / "good.json"), "--from",
                   str(tmp_path / "bad.json"), "--report", "json"])
    assert res.returncode == 2 and "html or md" in res.stderr, res.describe()
