"""Faulty servers: build/smtpfixture with one behaviour file each
(fixtures/behaviours/*.beh). The core suite runs against each with
--timeout 2; the run must fail (exit 1) with the expected rule on the
expected command, and must finish in bounded time (a hang guard, not a
benchmark). Servers that behave must give exit 0.
"""

import math
import re
import time

import pytest

import servers

CORE = "scenarios/core"
TIMEOUT = 2     # --timeout: per-reply deadline in seconds
JOBS = 8        # scenarios at once

# One fault case is one file: fixtures/behaviours/NAME.beh holds the
# server's behaviour and, on its "# test:" line, what the harness must make of
# it: "fault RULE [on COMMAND]" (the run fails with RULE on a step sending
# COMMAND), "clean" (every core scenario passes), "control" (a 421 close,
# conformant, or a SHOULD-level fault, a warning: each has its own test
# below), "tls" (acts only with a certificate: test_tls_auth.py runs it) or
# "dead" (sends nothing at all: the capability probe gives up after
# --probe-timeout and the run ends at once, exit 3, one line, instead of every
# scenario waiting for the greeting in turn; a greeting that drips in without
# a line end is judged by the scenarios: "drip").
TEST_LINE = re.compile(r"^# test: (?:(fault) (\S+)(?: on (\S+))?|(clean|control|tls|dead))\s*$")


def behaviour_cases():
    """{name: ("fault", rule, command|None) | ("clean"|"control"|"tls",)} from
    the "# test:" line of every behaviour file; a file without one is None."""
    cases = {}
    for path in sorted(servers.BEHAVIOURS_DIR.glob("*.beh")):
        cases[path.stem] = None
        for line in path.read_text().splitlines():
            m = TEST_LINE.match(line)
            if m:
                cases[path.stem] = ("fault", m.group(2), m.group(3)) if m.group(1) else (m.group(4),)
                break
    return cases


CASES = behaviour_cases()
FAULTS = [(name, c[1], c[2]) for name, c in CASES.items() if c and c[0] == "fault"]
CLEAN = [name for name, c in CASES.items() if c and c[0] == "clean"]
TLS_ONLY = [name for name, c in CASES.items() if c and c[0] == "tls"]
DEAD = [name for name, c in CASES.items() if c and c[0] == "dead"]


def core_scenario_count():
    return sum(1 for p in (servers.REPO / CORE).rglob("*.smtp")
               if not any(part.startswith(("_", ".")) for part in p.relative_to(servers.REPO / CORE).parts))


def hang_guard():
    """Seconds a whole run may take: every scenario waiting out one deadline
    (JOBS at a time), plus slack. Scaled up under valgrind."""
    waves = math.ceil(max(core_scenario_count(), 1) / JOBS)
    return (max(30, waves * (TIMEOUT + 1) + 20)) * servers.slowdown()


def run_core(target, report_path, jobs=JOBS, server=None, extra=()):
    args = ["run", "-t", target, "--timeout", str(TIMEOUT), "-j", str(jobs), "-q"] + list(extra) + [CORE]
    t0 = time.monotonic()
    res = servers.run_harness(args, json_report=report_path, timeout=hang_guard() + 30)
    elapsed = time.monotonic() - t0
    if server is not None and server.exited_early() is not None:
        pytest.fail("the fixture server %s exited during the run with status %s (a fixture "
                    "bug, not a harness verdict)\n%s\n--- fixture log ---\n%s"
                    % (server.name, server.exited_early(), res.describe(), server.log_text()),
                    pytrace=False)
    guard = hang_guard()
    assert elapsed < guard, "run took %.1fs (guard %.0fs)\n%s" % (elapsed, guard, res.describe())
    if res.report is None:
        pytest.fail("no JSON report written\n%s" % res.describe(), pytrace=False)
    return res


def assert_fixture_clean(server):
    server.stop()
    assert server.exited_early() is None, "%s exited by itself with status %s\n%s" % (
        server.name, server.exited_early(), server.log_text())
    found = server.sanitizer_output()
    assert not found, "sanitizer output in %s's log: %s\n%s" % (
        server.name, found, server.log_text())


@pytest.mark.slow
@pytest.mark.parametrize("behaviour,rule,command", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_is_detected(behaviour, rule, command, fixture_server, tmp_path):
    server = fixture_server(behaviour)
    res = run_core(server.target, tmp_path / "report.json", server=server)
    report = res.report

    assert res.returncode == 1, "expected exit 1 (a scenario failed)\n%s\n%s" % (
        res.describe(), servers.describe_scenarios(report))

    # SHOULD scenarios report a missed expectation as a warning (docs/rules.md)
    hits = [(sc, st, v) for sc, st, v in servers.violations(report)
            if v["rule"] == rule and (command is None or st.get("command") == command)
            and v["severity"] == "error"]
    assert hits, "no %s violation%s in the report; violations seen:\n%s\n\n%s" % (
        rule, "" if command is None else " on " + command,
        "\n".join(sorted({"%s on %s (%s)" % (v["rule"], st.get("command"), sc["id"])
                          for sc, st, v in servers.violations(report)})) or "(none)",
        servers.describe_scenarios(report))

    # The same reply on a setup step (the greeting or EHLO of an @include)
    # makes the other scenarios inconclusive: they tested nothing.
    for sc, st, v in hits:
        if sc["verdict"] == "inconclusive":
            assert st.get("setup") and st["verdict"] == "inconclusive", (sc["id"], st)
            assert sc["reason"], sc["id"]
    hits = [h for h in hits if h[0]["verdict"] != "inconclusive"]
    assert hits, "the %s violation is only on setup steps\n%s" % (
        rule, servers.describe_scenarios(report))
    for sc, st, v in hits:
        assert v["severity"] == "error", v
        assert v.get("message"), v
        assert sc["verdict"] == "fail", sc["id"]
        # A failed step ends its scenario: nothing is judged after it.
        steps = sc["steps"]
        idx = steps.index(st)
        assert all(s["verdict"] != "fail" for s in steps[idx + 1:]), sc["id"]
        if rule == "timeout":
            # The deadline bounds the whole reply (also when bytes drip in).
            slack_ms = 4000 * servers.slowdown()
            assert sc["duration_ms"] < TIMEOUT * 1000 + slack_ms, (
                "%s took %d ms with --timeout %d" % (sc["id"], sc["duration_ms"], TIMEOUT))

    assert_fixture_clean(server)


@pytest.mark.slow
def test_should_fault_is_a_warning(fixture_server, tmp_path):
    """A 2000-octet reply line breaks a SHOULD (RFC 5321 4.5.3.1): the
    finding is a warning, the run passes; with --strict it fails."""
    server = fixture_server("long-line-2000")
    res = run_core(server.target, tmp_path / "report.json", server=server)
    hits = [(sc, st, v) for sc, st, v in servers.violations(res.report)
            if v["rule"] == "syntax.line-too-long" and st.get("command") == "NOOP"]
    assert res.returncode == 0, res.describe()
    assert hits and all(v["severity"] == "warn" for sc, st, v in hits), \
        servers.describe_scenarios(res.report)
    res = run_core(server.target, tmp_path / "strict.json", server=server, extra=["--strict"])
    assert res.returncode == 1, res.describe()
    assert any(v["rule"] == "syntax.line-too-long" for sc, st, v in servers.violations(res.report))
    assert_fixture_clean(server)


def test_close_after_421_is_no_finding(fixture_server, tmp_path):
    """NOOP -> 421 and a close: the scenarios expecting 250 are inconclusive
    (RFC 5321 3.8: a server may end any session so; nothing was tested),
    never failed on the close."""
    server = fixture_server("noop-421-close")
    res = run_core(server.target, tmp_path / "report.json", server=server)
    rules = {v["rule"] for sc, st, v in servers.violations(res.report)}
    # "code NOOP 421" keeps the reference's 2.0.0: that class mismatch is the
    # one failure (where NOOP's reply is "*"), the rest is inconclusive.
    failed = {v["rule"] for sc, st, v in servers.violations(res.report)
              if sc["verdict"] == "fail" and st["verdict"] == "fail"}
    assert failed <= {"enhancedstatuscodes.class"}, servers.describe_scenarios(res.report)
    assert res.returncode in (1, 4), res.describe()
    assert "connection.closed-without-421" not in rules, servers.describe_scenarios(res.report)
    inconclusive = [sc for sc in res.report["scenarios"] if sc["verdict"] == "inconclusive"]
    assert inconclusive and all("(421" in sc["reason"] for sc in inconclusive), inconclusive[:2]
    assert_fixture_clean(server)


@pytest.mark.parametrize("behaviour", DEAD)
def test_no_whole_greeting_ends_the_run(behaviour, fixture_server, tmp_path):
    server = fixture_server(behaviour)
    res = servers.run_harness(["run", "-t", server.target, "--timeout", str(TIMEOUT),
                               "--probe-timeout", "2", "-q", CORE],
                              json_report=tmp_path / "report.json", timeout=60)
    assert res.returncode == 3, res.describe()
    assert res.stderr.strip() == "smtpconform: no greeting from %s within 2 s" % server.target, (
        res.describe())
    assert all(sc["verdict"] == "error" for sc in res.report["scenarios"])
    assert_fixture_clean(server)


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", CLEAN)
def test_clean_server_passes(behaviour, fixture_server, tmp_path):
    server = fixture_server(behaviour)
    res = run_core(server.target, tmp_path / "report.json", server=server)
    report = res.report
    assert res.returncode == 0, "expected exit 0 against %s\n%s\n%s" % (
        behaviour, res.describe(), servers.describe_scenarios(report))
    s = report["summary"]
    assert s["fail"] == 0 and s["error"] == 0 and s["total"] > 0, s
    assert s["pass"] > 0, s
    assert_fixture_clean(server)


def test_unreachable_target_exits_3(tmp_path):
    port = servers.closed_port()
    res = run_core("127.0.0.1:%d" % port, tmp_path / "report.json")
    assert res.returncode == 3, "expected exit 3 (target unreachable)\n%s" % res.describe()
    report = res.report
    assert report["summary"]["total"] > 0
    assert report["summary"]["error"] == report["summary"]["total"], report["summary"]
    assert res.stderr.strip(), "no diagnostic on stderr"


def test_every_behaviour_is_covered():
    """Each fixtures/behaviours/*.beh says on a "# test:" line what it must
    produce (see TEST_LINE), so every fault case lives in one file; the
    fault list is not empty and each kind this file tests is there."""
    assert CASES, "no behaviour files in %s" % servers.BEHAVIOURS_DIR
    missing = sorted(name for name, c in CASES.items() if c is None)
    assert not missing, "behaviour files without a '# test:' line: %s" % missing
    assert FAULTS and CLEAN and TLS_ONLY and DEAD, CASES
    assert "noop-421-close" in CASES and CASES["noop-421-close"] == ("control",)
