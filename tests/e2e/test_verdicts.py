"""Verdicts a release engineer can act on (issue 12 items 1, 2 and 4):
inconclusive when a setup step or a precondition does not hold, the
preconditions the capability probe finds once, and dead targets that end a
run at once.

Against the fixture server (fast), plus the two real-server cases of the
issue's "done when": OpenSMTPD with its {rcpt} refused, and Postfix that
trusts loopback (its relay scenarios). Those need root like the other
real-server tests and are marked slow.
"""

import json
import re
import time
import xml.etree.ElementTree as ET

import pytest

import servers

SUITE = "scenarios"
REFUSED_RCPT = "unknown@localhost"  # the fixture refuses local parts starting with "unknown"


def verdicts(report):
    return {sc["id"]: sc for sc in report["scenarios"]}


def run(args, report_path, timeout=120):
    """smtpconform run ARGS with the text report on stdout and a JSON report."""
    return servers.run_harness(["run", "-q", "--report", "text"] + list(args),
                               json_report=report_path, timeout=timeout)


# ------------------------------------------------------------ dead targets

def test_refused_port_ends_the_full_suite_with_one_line(tmp_path):
    """Connection refused: exit 3 at once, the errno text on one stderr
    line, every scenario an error with that one cause, said once in the
    text report (not once per scenario)."""
    port = servers.closed_port()
    t0 = time.monotonic()
    res = run(["-t", "127.0.0.1:%d" % port, SUITE], tmp_path / "run.json", timeout=60)
    elapsed = time.monotonic() - t0
    assert res.returncode == 3, res.describe()
    assert elapsed < 10 * servers.slowdown(), elapsed
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Connection refused" in lines[0], res.describe()
    reasons = {sc["reason"] for sc in res.report["scenarios"]}
    assert len(reasons) == 1 and "Connection refused" in reasons.pop(), reasons
    assert all(sc["verdict"] == "error" for sc in res.report["scenarios"])
    assert res.stdout.count("Connection refused") == 1, res.stdout[:2000]


def test_silent_server_ends_the_run_after_the_probe_deadline(fixture_server, tmp_path):
    """A server that accepts and never greets: the probe's short default
    deadline (10 s, not RFC 5321's 5 minutes, then as long per scenario)
    ends the whole run with one line and exit 3."""
    server = fixture_server("no-greeting")
    t0 = time.monotonic()
    res = run(["-t", server.target, SUITE], tmp_path / "run.json", timeout=120)
    elapsed = time.monotonic() - t0
    assert res.returncode == 3, res.describe()
    assert elapsed < 30 * servers.slowdown(), elapsed
    lines = res.stderr.strip().splitlines()
    assert lines == ["smtpconform: no greeting from %s within 10 s" % server.target], res.describe()
    assert all(sc["verdict"] == "error" and "no greeting" in sc["reason"]
               for sc in res.report["scenarios"])


def test_probe_timeout_option(fixture_server, tmp_path):
    server = fixture_server("no-greeting")
    t0 = time.monotonic()
    res = run(["-t", server.target, "--probe-timeout", "1", "scenarios/core"],
              tmp_path / "run.json", timeout=60)
    assert res.returncode == 3, res.describe()
    assert "within 1 s" in res.stderr, res.describe()
    assert time.monotonic() - t0 < 15 * servers.slowdown()


# ------------------------------------------------------------ preconditions

def test_refused_rcpt_is_one_header_line_and_inconclusive(fixture_server, tmp_path):
    """{rcpt} refused: one header line with the hint, the scenarios that use
    {rcpt} inconclusive from the start (they never connect), and only the
    postmaster scenarios judge the refusal (RFC 5321 4.5.1)."""
    server = fixture_server("reference")
    res = run(["-t", server.target, "--var", "rcpt=" + REFUSED_RCPT,
               "scenarios/core", "scenarios/smuggling"], tmp_path / "run.json")
    header = [line for line in res.stdout.splitlines() if line.startswith("precondition:")]
    assert len(header) == 1, res.stdout[:3000]
    assert "RCPT TO:<%s> refused (550" % REFUSED_RCPT in header[0], header
    assert "--var rcpt=<a deliverable mailbox>" in header[0], header
    assert res.report["probe"]["preconditions"] == [header[0][len("precondition: "):]]

    got = verdicts(res.report)
    failed = sorted(i for i, sc in got.items() if sc["verdict"] == "fail")
    assert failed == ["core.rcpt.basic"], failed
    smug = got["smuggling.lf-dot-lf"]
    assert smug["verdict"] == "inconclusive", smug
    assert smug["steps"] == [] and smug["transcript"] == "", smug  # never connected
    assert "not tested: The sequence LF . LF" in smug["reason"], smug["reason"]
    assert "set --var rcpt=" in smug["reason"], smug["reason"]
    assert res.report["summary"]["inconclusive"] == sum(
        1 for sc in got.values() if sc["verdict"] == "inconclusive") > 10
    assert res.returncode == 1, res.describe()

    # Nothing failed, something tested nothing: exit 4.
    res4 = run(["-t", server.target, "--var", "rcpt=" + REFUSED_RCPT, "scenarios/smuggling"],
               tmp_path / "smuggling.json")
    assert res4.returncode == 4, res4.describe()
    assert res4.report["summary"]["fail"] == 0 and res4.report["summary"]["inconclusive"] > 0


def test_setup_step_refused_at_run_time_is_inconclusive(fixture_server, tmp_path):
    """A setup step that does not get its reply while the scenario runs
    (here MAIL gets 451, a greylisting-like refusal): inconclusive, naming
    the step, the reply, what was not tested and the hint; the scenario that
    tests MAIL itself still fails."""
    beh = tmp_path / "mail-451.beh"
    beh.write_text("code MAIL 451\n")
    server = fixture_server(str(beh))
    res = run(["-t", server.target, "scenarios/core", "scenarios/smuggling"],
              tmp_path / "run.json")
    got = verdicts(res.report)
    smug = got["smuggling.crlf-dot-lf"]
    assert smug["verdict"] == "inconclusive", smug
    assert re.match(r"setup: MAIL FROM:<conform@smtpconform\.example> refused \(451 .*\); "
                    r"not tested: .*; a temporary refusal", smug["reason"]), smug["reason"]
    setup = [st for st in smug["steps"] if st["verdict"] == "inconclusive"]
    assert len(setup) == 1 and setup[0]["setup"] is True and setup[0]["command"] == "MAIL", setup
    assert got["core.mail.basic"]["verdict"] == "fail", got["core.mail.basic"]
    # The unmet setup expectation is the reason, not a finding.
    for f in res.report["findings"]:
        assert set(f["scenarios"]) <= {i for i, sc in got.items() if sc["verdict"] == "fail"} | {
            i for i, sc in got.items() if sc["verdict"] in ("pass", "inconclusive")}, f
    assert "precondition: MAIL FROM:<conform@smtpconform.example> refused for now (451" in (
        res.stdout), res.stdout[:2000]


def test_trusted_client_makes_relay_scenarios_inconclusive(fixture_server, tmp_path):
    """A server that accepts {relay_rcpt} from this client relays for it
    (loopback in mynetworks): the relay scenarios are inconclusive with the
    reason, not failures that would call the server an open relay."""
    beh = tmp_path / "open-relay.beh"
    beh.write_text("code RCPT 250\n")
    server = fixture_server(str(beh))
    res = run(["-t", server.target, "--tag", "relay"], tmp_path / "run.json")
    got = verdicts(res.report)
    assert "treats this client as trusted" in res.stdout, res.stdout[:2000]
    foreign = [i for i in got if i.startswith("relay.") and i != "relay.local-sender-accepted"]
    assert foreign, got.keys()
    for sid in foreign:
        assert got[sid]["verdict"] == "inconclusive", (sid, got[sid])
        assert "run from an outside address" in got[sid]["reason"], got[sid]["reason"]
    assert got["relay.local-sender-accepted"]["verdict"] == "pass", got["relay.local-sender-accepted"]
    assert res.returncode == 4, res.describe()


def test_421_during_a_scenario_is_inconclusive(fixture_server, tmp_path):
    """RFC 5321 3.8: a server may answer any command with 421 and close; a
    scenario that did not expect it tested nothing."""
    server = fixture_server("noop-421-close")
    res = run(["-t", server.target, "--id", "core.noop.basic"], tmp_path / "run.json")
    sc = res.report["scenarios"][0]
    assert sc["verdict"] == "inconclusive", sc
    assert sc["reason"].startswith("session: NOOP answered with 421 ("), sc["reason"]
    assert "RFC 5321 3.8" in sc["reason"], sc["reason"]
    assert res.returncode == 4, res.describe()


# ------------------------------------------------------------ every report

def test_inconclusive_in_every_report(fixture_server, tmp_path):
    server = fixture_server("reference")
    out = tmp_path / "out"
    out.mkdir()
    args = ["run", "-q", "-t", server.target, "--var", "rcpt=" + REFUSED_RCPT,
            "--id", "smuggling.lf-dot-lf", "--id", "core.noop.basic"]
    for fmt, name in (("json", "r.json"), ("junit", "r.xml"), ("tap", "r.tap"), ("md", "r.md"),
                      ("html", "r.html"), ("text", "r.txt")):
        args += ["--report", "%s:%s" % (fmt, out / name)]
    res = servers.run_harness(args, timeout=60)
    assert res.returncode == 4, res.describe()

    data = json.loads((out / "r.json").read_text())
    assert data["summary"]["inconclusive"] == 1 and data["summary"]["pass"] == 1, data["summary"]

    suite = ET.parse(out / "r.xml").getroot()
    assert suite.get("skipped") == "1" and suite.get("failures") == "0", suite.attrib
    skipped = suite.find("testcase[@name='smuggling.lf-dot-lf']/skipped")
    assert skipped is not None and skipped.get("message").startswith("inconclusive: "), skipped
    props = [p.get("value") for p in suite.iter("property") if p.get("name") == "probe.precondition"]
    assert len(props) == 1 and REFUSED_RCPT in props[0], props

    tap = (out / "r.tap").read_text()
    assert re.search(r"^ok \d+ - smuggling\.lf-dot-lf .* # SKIP inconclusive: precondition: ", tap,
                     re.M), tap
    assert "1 inconclusive" in tap

    md = (out / "r.md").read_text()
    assert "### Inconclusive: nothing tested (1)" in md and "Precondition:" in md, md
    html = (out / "r.html").read_text()
    assert "INCONCLUSIVE" in html and "1 inconclusive" in html
    text = (out / "r.txt").read_text()
    assert "INCONCLUSIVE smuggling.lf-dot-lf" in text and "Inconclusive (nothing tested):" in text

    # A saved run renders again with its verdict and exit code.
    again = servers.run_harness(["report", "--from", str(out / "r.json"), "--report",
                                 "json:%s" % (out / "again.json")], timeout=60)
    assert again.returncode == 4, again.describe()
    back = json.loads((out / "again.json").read_text())
    assert [sc["verdict"] for sc in back["scenarios"]] == [
        sc["verdict"] for sc in data["scenarios"]]
    assert back["probe"]["preconditions"] == data["probe"]["preconditions"]


# ------------------------------------------------------------ real servers

@pytest.mark.slow
def test_opensmtpd_refused_rcpt_fails_nothing_because_of_the_envelope(opensmtpd_server, tmp_path):
    """Done-when: against OpenSMTPD with the envelope's recipient refused
    (550 Invalid recipient), no scenario fails because of the envelope; the
    header says why and what to set."""
    server = opensmtpd_server
    rcpt = "nobody@" + server.hostname
    res = run(["-t", server.target, "--var", "domain=" + server.hostname, "--var", "rcpt=" + rcpt,
               "--timeout", "5", "-j", "8", SUITE], tmp_path / "run.json", timeout=600)
    header = [line for line in res.stdout.splitlines() if line.startswith("precondition:")]
    assert any("RCPT TO:<%s> refused (550" % rcpt in h and "--var rcpt=" in h
               for h in header), res.stdout[:3000]
    for sc in res.report["scenarios"]:
        # core.rcpt.basic and rfc821.rcpt.basic (tag postmaster) test that
        # very RCPT (RFC 5321 4.5.1): their failure is the finding
        if sc["verdict"] != "fail" or "postmaster" in sc["tags"]:
            continue
        for st in sc["steps"]:
            if st["verdict"] == "fail":
                assert rcpt not in st["sent"], (sc["id"], st)
    smuggling = [sc for sc in res.report["scenarios"] if sc["id"].startswith("smuggling.")
                 and sc["verdict"] != "skip"]
    assert smuggling and all(sc["verdict"] == "inconclusive" for sc in smuggling), [
        (sc["id"], sc["verdict"]) for sc in smuggling]


@pytest.mark.slow
def test_postfix_trusting_loopback_fails_no_relay_scenario(tmp_path):
    """Done-when: against Postfix from loopback (loopback in mynetworks, as
    Postfix's default is), no relay scenario fails."""
    server = servers.PostfixServer(keep_dir=tmp_path / "postfix",
                                   mynetworks="127.0.0.0/8 [::1]/128",
                                   outbound="discard:smtpconform relays into the void")
    try:
        server.start()
    except servers.ServerError as e:
        error = str(e)
    else:
        error = None
    if error:
        server.stop()
        pytest.fail("cannot start Postfix: %s" % error, pytrace=False)
    try:
        res = run(["-t", server.target, "--var", "domain=" + server.hostname, "--timeout", "5",
                   "--tag", "relay"], tmp_path / "run.json", timeout=300)
        assert "treats this client as trusted" in res.stdout, res.stdout[:3000]
        failed = [sc["id"] for sc in res.report["scenarios"] if sc["verdict"] == "fail"]
        assert not [i for i in failed if i.startswith("relay.")], failed
        assert any(sc["verdict"] == "inconclusive" for sc in res.report["scenarios"])
    finally:
        server.stop()


# ------------------------------------------------------------ probe variables

def test_size_max_comes_from_the_probe(fixture_server, tmp_path):
    """{size_max} is the n of the probe's EHLO `SIZE n` (esmtp.size.at-limit
    declares exactly that); --var size_max wins; a server without `SIZE n`
    skips the scenario with the reason (when: size_max), and `check` accepts
    the scenario although no --var defines the variable."""
    scenario = "scenarios/esmtp/size-at-limit.smtp"
    server = fixture_server("reference")
    res = run(["-t", server.target, scenario], tmp_path / "at-limit.json")
    assert res.returncode == 0, res.describe()
    sc = verdicts(res.report)["esmtp.size.at-limit"]
    assert sc["verdict"] == "pass", sc
    assert "MAIL FROM:<conform@smtpconform.example> SIZE=10240000" in sc["transcript"], sc

    res = run(["-t", server.target, "--var", "size_max=77", scenario], tmp_path / "var.json")
    assert "SIZE=77\n" in verdicts(res.report)["esmtp.size.at-limit"]["transcript"]

    beh = tmp_path / "no-size.beh"
    beh.write_text('reply EHLO 250 "fixture.smtpconform.test" | "PIPELINING" | "SIZE"\n')
    bare = fixture_server(beh)
    res = run(["-t", bare.target, scenario], tmp_path / "no-size.json")
    sc = verdicts(res.report)["esmtp.size.at-limit"]
    assert sc["verdict"] == "skip", sc
    assert "advertises no SIZE maximum" in sc["reason"], sc["reason"]

    check = servers.run_harness(["check", scenario])
    assert check.returncode == 0, check.describe()


def test_size_at_limit_refused_is_a_warning(fixture_server, tmp_path):
    """The fixture's off-by-one (allow size-at-limit-refused, SIZE=n refused
    with 552) is size.within-limit-refused, one SHOULD finding (the
    scenario's expect.code folds into it), failing only with --strict."""
    beh = tmp_path / "off-by-one.beh"
    beh.write_text("allow size-at-limit-refused\n")
    server = fixture_server(beh)
    scenario = "scenarios/esmtp/size-at-limit.smtp"
    res = run(["-t", server.target, scenario], tmp_path / "warn.json")
    assert res.returncode == 0, res.describe()
    step = [s for s in verdicts(res.report)["esmtp.size.at-limit"]["steps"]
            if s.get("command") == "MAIL"][0]
    rules = sorted(v["rule"] for v in step["violations"])
    assert rules == ["expect.code", "size.within-limit-refused"], step
    assert [f["rule"] for f in res.report["findings"]] == ["size.within-limit-refused"]
    strict = run(["-t", server.target, "--strict", scenario], tmp_path / "strict.json")
    assert strict.returncode == 1, strict.describe()
