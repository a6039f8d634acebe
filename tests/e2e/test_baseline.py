"""Baselines and waivers (issue 6 item 3): known deviations are waived, only
new failures fail the run, stale waivers are reported."""

import json

import pytest

import servers

CORE = "scenarios/core"


def run(target, tmp_path, name, extra=()):
    res = servers.run_harness(["run", "-t", target, "-j", "8", "--timeout", "3", "-q"] + list(extra)
                              + [CORE], json_report=tmp_path / (name + ".json"), timeout=120)
    assert res.report is not None, res.describe()
    return res


def test_json_baseline_waives_known_and_fails_only_new(fixture_server, tmp_path):
    known = run(fixture_server("noop-251").target, tmp_path, "known")
    assert known.returncode == 1
    failed = {sc["id"] for sc in known.report["scenarios"] if sc["verdict"] == "fail"}
    # Same deviations again, with the previous run as the baseline: exit 0.
    again = run(fixture_server("noop-251").target, tmp_path, "again",
                ["--baseline", str(tmp_path / "known.json")])
    assert again.returncode == 0, again.describe()
    waived = {sc["id"] for sc in again.report["scenarios"] if sc["verdict"] == "waived"}
    assert waived == failed
    assert again.report["summary"]["waived"] == len(failed)
    assert again.report["summary"]["fail"] == 0
    # One new deviation (another mutant): exit 1, naming only the new ones.
    new = run(fixture_server("vrfy-354").target, tmp_path, "new",
              ["--baseline", str(tmp_path / "known.json")])
    assert new.returncode == 1, new.describe()
    now_failing = {sc["id"] for sc in new.report["scenarios"] if sc["verdict"] == "fail"}
    assert now_failing == {"core.vrfy.basic"}, now_failing
    # The known ones that no longer fail are stale.
    assert new.report["baseline"]["stale"], new.report["baseline"]


def test_waiver_file_rules_expiry_and_stale(fixture_server, tmp_path):
    waivers = tmp_path / "waivers.txt"
    waivers.write_text(
        "# known deviations\n"
        "rule matrix.not-allowed -- NOOP 251 is a known quirk\n"
        "rule expect.code -- and so is the code the scenarios expect\n"
        "scenario core.no.such.scenario -- left over from an old suite\n"
        "scenario core.vrfy.basic until 2000-01-01 -- expired long ago\n")
    res = run(fixture_server("noop-251").target, tmp_path, "w", ["--baseline", str(waivers),
              "--report", "text:%s" % (tmp_path / "w.txt")])
    assert res.returncode == 0, res.describe()
    assert res.report["summary"]["fail"] == 0 and res.report["summary"]["waived"] > 0
    stale = res.report["baseline"]["stale"]
    assert any("core.no.such.scenario" in s and "matches nothing" in s for s in stale), stale
    assert any("core.vrfy.basic" in s and "expired" in s for s in stale), stale
    text = (tmp_path / "w.txt").read_text()
    assert "WAIVED" in text and "stale waiver" in text


def test_bad_waiver_file_names_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("# ok\nscenario core.noop.basic no reason here\n")
    res = servers.run_harness(["run", "--baseline", str(bad), CORE], timeout=30)
    assert res.returncode == 2 and "bad.txt:2:" in res.stderr, res.describe()


def test_postfix_with_its_recorded_deviations_waived_exits_0(postfix_server, tmp_path):
    args = ["--var", "domain=%s" % postfix_server.hostname]
    first = servers.run_harness(["run", "-t", postfix_server.target, "-j", "8", "--timeout", "10",
                                 "-q"] + args + ["scenarios"], json_report=tmp_path / "pf.json",
                                timeout=300)
    assert first.returncode == 1, "Postfix has known deviations: %s" % first.describe()
    again = servers.run_harness(["run", "-t", postfix_server.target, "-j", "8", "--timeout", "10",
                                 "-q", "--baseline", str(tmp_path / "pf.json")] + args
                                + ["scenarios"], json_report=tmp_path / "pf2.json", timeout=300)
    assert again.returncode == 0, again.describe()
    assert again.report["summary"]["fail"] == 0
    assert again.report["summary"]["waived"] == first.report["summary"]["fail"]


def test_json_baseline_over_1_mib_is_accepted(fixture_server, tmp_path):
    """One size limit for every JSON report read back (issue 9 item 8): a
    baseline as big as the bundled suite's reports grow is not 'too large'."""
    known = run(fixture_server("noop-251").target, tmp_path, "known")
    assert known.returncode == 1
    report = json.loads((tmp_path / "known.json").read_text())
    report["scenarios"][0]["transcript"] += "S: 250 padding\n" * 80000  # ~1.2 MB more
    big = tmp_path / "big.json"
    big.write_text(json.dumps(report))
    assert big.stat().st_size > (1 << 20) + 100000
    again = run(fixture_server("noop-251").target, tmp_path, "again", ["--baseline", str(big)])
    assert again.returncode == 0, again.describe()
    assert again.report["summary"]["fail"] == 0 and again.report["summary"]["waived"] > 0


@pytest.mark.parametrize("date", ["2024-13-45", "2023-02-29", "2024-04-31", "2024-00-10",
                                  "2024-01-00"])
def test_waiver_until_must_be_a_calendar_date(tmp_path, date):
    bad = tmp_path / "bad.txt"
    bad.write_text("# ok\nscenario core.noop.basic until %s -- a reason\n" % date)
    res = servers.run_harness(["run", "-t", "127.0.0.1:%d" % servers.closed_port(),
                               "--baseline", str(bad), CORE], timeout=30)
    assert res.returncode == 2, res.describe()
    assert "bad.txt:2: until %s: not a calendar date" % date in res.stderr, res.describe()


def test_waiver_until_leap_day_is_a_date(fixture_server, tmp_path):
    waivers = tmp_path / "w.txt"
    waivers.write_text("scenario core.noop.basic until 2400-02-29 -- leap day\n"
                       "rule matrix.not-allowed until 2096-02-29 -- leap day\n")
    res = run(fixture_server("noop-251").target, tmp_path, "w", ["--baseline", str(waivers)])
    assert res.report["summary"]["waived"] > 0, res.describe()
