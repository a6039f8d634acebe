"""The bundled suite against eight real SMTP servers: private Postfix,
OpenSMTPD, Exim, Sendmail, Dovecot submission, Haraka and qpsmtpd
instances and aiosmtpd, all on loopback (see servers.py and mta_servers.py).

One source of truth for what each server gets: tests/e2e/expected/SERVER.json
(written by update_expected.py, see there). A scenario not listed there must
pass; a listed one must end with the recorded verdict (fail or skip), a
failure with the recorded rule on the recorded command, and every recorded
failure must carry the RFC text it violates and a one-line explanation
(an "rfc" or "why" still "TODO" fails the test).

- test_full_suite: the whole bundled suite (scenarios/), run as `make
  conformance` runs it (--timeout 5 -j 8), compared with the file, entry by
  entry, both ways. The eight runs go side by side (conformance_run.PARALLEL
  at a time; one at a time under valgrind).
- test_core_suite, test_ipv6_target: the core suite (scenarios/core) alone,
  over IPv4 and [::1]; its known deviations are the core.* entries of the
  same file.
- test_replies_match_smtplib: the replies the harness recorded are
  cross-checked against what Python's smtplib reads from the same server.
"""

import concurrent.futures
import json
import os
import re
import smtplib

import pytest

import conformance_run
import servers
import update_expected

CORE = "scenarios/core"
CLIENT = "smtpconform.example"

SERVER_FIXTURES = {
    "postfix": "postfix_server",
    "opensmtpd": "opensmtpd_server",
    "aiosmtpd": "aiosmtpd_server",
    "exim": "exim_server",
    "sendmail": "sendmail_server",
    "dovecot": "dovecot_server",
    "haraka": "haraka_server",
    "qpsmtpd": "qpsmtpd_server",
}
# Servers that also listen on [::1] (test_ipv6_target).
IPV6_SERVERS = ("aiosmtpd", "opensmtpd", "postfix")


def known_deviations(name):
    """The core.* failures recorded for server NAME in expected/NAME.json:
    scenario id -> entry (rule, command, transcript, rfc, why)."""
    recorded = update_expected.load_expected(name)["scenarios"]
    return {sid: e for sid, e in recorded.items()
            if sid.startswith("core.") and e.get("verdict") == "fail"}


def run_core(server, report_path, target=None, extra=()):
    timeout = max(10, getattr(server, "suite_timeout", None) or 0)
    server_extra = server.suite_extra_args() if hasattr(server, "suite_extra_args") else []
    args = ["run", "-t", target or server.target,
            "--var", "domain=%s" % conformance_run.server_domain(server),
            "--timeout", str(timeout), "-j", "4", "-q"] + server_extra + list(extra) + [CORE]
    res = servers.run_harness(args, json_report=report_path, timeout=300,
                              env=conformance_run.server_env(server))
    if res.report is None:
        pytest.fail("no JSON report written\n%s" % res.describe(), pytrace=False)
    return res


@pytest.fixture(scope="module", params=sorted(SERVER_FIXTURES))
def core_run(request, tmp_path_factory):
    """(server name, server, HarnessResult) of one core-suite run per server,
    shared by the tests below."""
    name = request.param
    server = request.getfixturevalue(SERVER_FIXTURES[name])
    report = tmp_path_factory.mktemp("core-" + name) / "report.json"
    return name, server, run_core(server, report)


def check_report_shape(report):
    """Fields every JSON report has; summary adds up."""
    for key in ("tool", "target", "profile", "started", "duration_ms", "summary", "scenarios"):
        assert key in report, "JSON report lacks %r" % key
    assert report["tool"]["name"] == "smtpconform"
    s = report["summary"]
    assert s["total"] == len(report["scenarios"])
    assert s["pass"] + s["fail"] + s["skip"] + s["error"] + s["inconclusive"] == s["total"]
    for sc in report["scenarios"]:
        assert sc["verdict"] in ("pass", "fail", "skip", "error", "inconclusive"), sc["verdict"]
        for st in sc.get("steps") or []:
            reply = st.get("reply")
            if reply is None:
                continue
            lines = reply["lines"]
            assert reply["lines_total"] >= len(lines)
            # The code the harness reports is the one on the first line.
            if lines and re.match(r"\d{3}", lines[0]) and reply["code"] >= 0:
                assert int(lines[0][:3]) == reply["code"], (sc["id"], st)


def expected_returncode(report):
    """smtpconform's exit status for REPORT: 1 when a scenario failed, else 3
    when one could not run, else 4 when one was inconclusive, else 0."""
    s = report["summary"]
    return 1 if s["fail"] else 3 if s["error"] else 4 if s["inconclusive"] else 0


@pytest.mark.slow
def test_core_suite(core_run):
    name, server, res = core_run
    report = res.report
    check_report_shape(report)
    assert report["summary"]["total"] > 0, "no scenarios ran\n%s" % res.describe()

    known = known_deviations(name)
    bad = [sc["id"] for sc in report["scenarios"]
           if sc["verdict"] in ("fail", "error") and sc["id"] not in known]
    verdicts = {sc["id"]: sc["verdict"] for sc in report["scenarios"]}
    stale = [i for i in known if verdicts.get(i) in ("pass", "skip", "inconclusive")]
    for sc in report["scenarios"]:
        dev = known.get(sc["id"])
        if dev is not None and sc["verdict"] == "fail" and not update_expected.same_failure(dev, sc):
            bad.append(sc["id"])  # fails, but not the way the entry says
    missing = [i for i in known if i not in verdicts]

    msg = []
    if bad:
        msg.append("%d core scenario(s) failed against %s (%s) other than as recorded in %s:\n%s"
                   % (len(bad), name, server.target, update_expected.expected_path(name),
                      servers.describe_scenarios(report, bad)))
    if stale:
        msg.append("recorded core deviations of %s now pass: %s (re-record: %s --server %s)"
                   % (name, stale, update_expected.REGENERATE, name))
    if missing:
        msg.append("recorded core deviations of %s name scenarios that no longer exist: %s"
                   % (name, missing))
    assert not msg, "\n\n".join(msg) + "\n\n" + res.describe(limit=2000)
    assert res.returncode == expected_returncode(report), res.describe()


@pytest.fixture(scope="session")
def full_runs(request, tmp_path_factory):
    """{server name: HarnessResult or the exception it ended with} of one run
    of the whole bundled suite per server, with the arguments `make
    conformance` uses. The servers are started first (session fixtures),
    then their runs go side by side, conformance_run.PARALLEL at a time
    (one at a time under valgrind, whose slowness would hit --timeout)."""
    return suite_runs(request, tmp_path_factory, SERVER_FIXTURES, conformance_run.SUITE, "full")


def suite_runs(request, tmp_path_factory, fixtures, suite, label):
    """Starts the servers of FIXTURES ({name: fixture name}), then runs SUITE
    against each, conformance_run.PARALLEL side by side (one at a time under
    valgrind, whose slowness would hit --timeout). Returns (started servers,
    {name: HarnessResult or the exception it ended with})."""
    started, results = {}, {}
    for name in sorted(fixtures):
        try:
            started[name] = request.getfixturevalue(fixtures[name])
        except BaseException as e:  # pytest.fail in the fixture: that server only
            if isinstance(e, KeyboardInterrupt):
                raise
            results[name] = e

    def one(name):
        server = started[name]
        report = tmp_path_factory.mktemp("%s-%s" % (label, name)) / ("%s.json" % name)
        try:
            return name, servers.run_harness(conformance_run.suite_args(server, suite=suite),
                                             json_report=report, timeout=600,
                                             env=conformance_run.server_env(server))
        except BaseException as e:  # pytest.fail: reported by that server's test
            return name, e

    parallel = 1 if servers.under_valgrind() else conformance_run.PARALLEL
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        for name, res in pool.map(one, sorted(started)):
            results[name] = res
    return started, results


@pytest.fixture(params=sorted(SERVER_FIXTURES))
def full_run(request, full_runs):
    """(server name, server, HarnessResult) of the server's full-suite run."""
    name = request.param
    started, results = full_runs
    res = results[name]
    if isinstance(res, BaseException):
        raise res
    if res.report is None:
        pytest.fail("no JSON report written\n%s" % res.describe(), pytrace=False)
    return name, started[name], res


@pytest.mark.slow
def test_full_suite(full_run):
    """Every scenario of the bundled suite ends as tests/e2e/expected/SERVER.json
    records (pass when not listed); every recorded failure is explained; the
    run's warnings (SHOULD findings) are the recorded ones, each explained."""
    name, server, res = full_run
    report = res.report
    check_report_shape(report)
    assert not report.get("interrupted"), res.describe()
    files = [f for f in (servers.REPO / conformance_run.SUITE).rglob("*.smtp")
             if not any(part.startswith(("_", ".")) for part in
                        f.relative_to(servers.REPO / conformance_run.SUITE).parts)]
    assert len(report["scenarios"]) == len(files), (
        "%d scenarios ran, the suite has %d files\n%s"
        % (len(report["scenarios"]), len(files), res.describe()))

    expected = update_expected.load_expected(name)
    path = update_expected.expected_path(name)
    diffs = update_expected.compare(expected, report)
    unexplained = [p for sid, e in sorted(expected["scenarios"].items())
                   for p in update_expected.entry_problems(sid, e)]
    unexplained += [p for w in expected.get("warnings") or []
                    for p in update_expected.warning_problems(w)]
    msg = []
    if diffs:
        msg.append("%s (%s): %d difference(s) from %s (recorded -> now):\n  %s"
                   % (name, server.target, sum(1 for d in diffs if not d.startswith("    ")),
                      path, "\n  ".join(diffs)))
        msg.append("If the change is meant (the harness or the suite changed), re-record with\n"
                   "  %s --server %s\nand write the rfc/why of new entries; if not, it is a "
                   "regression." % (update_expected.REGENERATE, name))
    if unexplained:
        msg.append("%s: %d recorded entr%s not explained:\n  %s"
                   % (path, len(unexplained), "y is" if len(unexplained) == 1 else "ies are",
                      "\n  ".join(unexplained)))
    assert not msg, "\n\n".join(msg)
    assert res.returncode == expected_returncode(report), res.describe()


def suite_ids():
    """Scenario id -> file of every scenario of the bundled suite (from the
    id: headers; no server needed)."""
    root = servers.REPO / conformance_run.SUITE
    ids = {}
    for f in sorted(root.rglob("*.smtp")):
        if any(part.startswith(("_", ".")) for part in f.relative_to(root).parts):
            continue
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            m = re.match(r"id:\s*(\S+)", line)
            if m:
                ids[m.group(1)] = f
                break
    return ids


@pytest.mark.parametrize("name", sorted(SERVER_FIXTURES))
def test_expected_file_is_consistent(name):
    """expected/NAME.json (no server needed): every entry names a scenario of
    the suite, has a verdict worth recording, and every failure carries its
    rule, command, transcript, RFC text and explanation."""
    path = update_expected.expected_path(name)
    assert path.exists(), "%s is missing: run %s" % (path, update_expected.REGENERATE)
    data = update_expected.load_expected(name)
    assert data.get("server") == name, data.get("server")
    ids = suite_ids()
    problems = ["%s: no such scenario in %s/" % (sid, conformance_run.SUITE)
                for sid in sorted(data["scenarios"]) if sid not in ids]
    for sid, entry in sorted(data["scenarios"].items()):
        problems += update_expected.entry_problems(sid, entry)
    for w in data.get("warnings") or []:
        problems += update_expected.warning_problems(w)
        problems += ["warning %s: no such scenario %s" % (update_expected.describe_warning(w), sid)
                     for sid in w.get("scenarios") or [] if sid not in ids]
    assert not problems, "%s:\n  %s" % (path, "\n  ".join(problems))
    # The file is written in its canonical form (what update_expected.py writes).
    assert path.read_text(encoding="utf-8") == update_expected.dump_expected(data), (
        "%s is not in canonical form: re-write it with %s --report ..." % (
            path, update_expected.REGENERATE))


def fake_scenario(sid, verdict, rule=None, command=None, reason=None):
    steps = []
    if rule:
        steps.append({"line": 3, "command": command,
                      "violations": [{"rule": rule, "severity": "error", "message": "m"}]})
    return {"id": sid, "verdict": verdict, "reason": reason, "steps": steps,
            "transcript": "S: 220 x\nC: EHLO c\nS: 250 x\nC: %s\nS: 500 no" % (command or "NOOP")}


def test_expected_compare_and_merge():
    """update_expected.compare() reports verdict changes both ways and a
    failure reached another way; merge() keeps hand-written rfc/why, writes
    TODO for new failures and drops entries that now pass."""
    expected = {"server": "x", "scenarios": {
        "a.fails": {"verdict": "fail", "rule": "expect.code", "command": "MAIL",
                    "transcript": "t", "rfc": "RFC 5321 4.1.4: \"...\"", "why": "w"},
        "b.fails-now-passes": {"verdict": "fail", "rule": "expect.code", "command": "RSET",
                               "transcript": "t", "rfc": "r", "why": "w"},
        "c.skipped": {"verdict": "skip", "reason": "the server does not advertise DSN"},
        "d.other-way": {"verdict": "fail", "rule": "expect.code", "command": "NOOP",
                        "also": [{"rule": "connection.reset", "command": "NOOP"}],
                        "transcript": "t", "rfc": "r", "why": "Software: w"},
        "f.gone": {"verdict": "fail", "rule": "r", "command": "c", "transcript": "t",
                   "rfc": "r", "why": "w"},
    }}
    report = {"scenarios": [
        fake_scenario("a.fails", "fail", "expect.code", "MAIL"),
        fake_scenario("b.fails-now-passes", "pass"),
        fake_scenario("c.skipped", "skip", reason="the server does not advertise DSN"),
        fake_scenario("d.other-way", "fail", "connection.reset", "NOOP"),
        fake_scenario("e.new-failure", "fail", "matrix.not-allowed", "HELP"),
        fake_scenario("g.differently", "pass"),
    ]}
    diffs = update_expected.compare(expected, report)
    text = "\n".join(diffs)
    assert "b.fails-now-passes: recorded fail, now pass" in text, text
    assert "e.new-failure: recorded pass, now fail (matrix.not-allowed on HELP)" in text, text
    assert "f.gone: recorded fail, but no such scenario ran" in text, text
    assert "a.fails" not in text and "c.skipped" not in text and "d.other-way" not in text, text

    report["scenarios"][0] = fake_scenario("a.fails", "fail", "syntax.unsolicited", "MAIL")
    text = "\n".join(update_expected.compare(expected, report))
    assert "a.fails: still fail, but not with expect.code on MAIL" in text, text

    data, notes = update_expected.merge(expected, report, "x")
    sc = data["scenarios"]
    assert sc["d.other-way"]["rule"] == "expect.code"       # recorded one kept (an "also")
    assert sc["d.other-way"]["also"] and sc["d.other-way"]["why"] == "Software: w"
    assert sc["e.new-failure"]["rfc"] == update_expected.TODO
    assert sc["e.new-failure"]["why"] == update_expected.TODO
    assert sc["a.fails"]["rfc"].startswith("RFC 5321")       # kept, though it now fails otherwise
    assert "b.fails-now-passes" not in sc and "f.gone" not in sc
    assert any("e.new-failure: NEW fail" in n for n in notes), notes
    assert update_expected.entry_problems("e.new-failure", sc["e.new-failure"])
    assert not update_expected.entry_problems("d.other-way", sc["d.other-way"])
    # A why that does not say software, configuration or test is a problem.
    assert update_expected.entry_problems("a.fails", dict(sc["d.other-way"], why="it fails"))
    assert update_expected.cause_of(sc["d.other-way"]) == "Software"
    # Warnings: one per rule, command and code; compared both ways; merge
    # keeps rfc/why of a known one and writes TODO for a new one.
    def warn(rule, command, code, sid):
        return {"verdict": "warn", "rule": rule, "command": command, "code": code,
                "scenarios": [sid], "reply": ["%d x" % code]}
    expected["warnings"] = [
        {"rule": "rcpt.address-literal", "command": "RCPT", "code": 501, "scenarios": ["s1"],
         "reply": "501 x", "rfc": "RFC 5321 4.1.2: ...", "why": "Software: w"},
        {"rule": "lines.trailing-space-refused", "command": "DATA", "code": 500,
         "scenarios": ["s2"], "reply": "500 x", "rfc": "r", "why": "Software: w"}]
    report["findings"] = [warn("rcpt.address-literal", "RCPT", 501, "s1"),
                          warn("rcpt.address-literal", "RCPT", 501, "s3"),
                          warn("argument.not-taken", "RSET", 500, "s4"),
                          dict(warn("command.minimum", "VRFY", 500, "s5"), verdict="fail")]
    text = "\n".join(update_expected.compare(expected, report))
    assert "warning argument.not-taken on RSET (500): not recorded (s4: 500 x)" in text, text
    assert ("warning lines.trailing-space-refused on DATA (500): recorded, but the run did "
            "not show it") in text, text
    assert "rcpt.address-literal" not in text and "command.minimum" not in text, text
    data, notes = update_expected.merge(expected, report, "x")
    ws = {w["rule"]: w for w in data["warnings"]}
    assert sorted(ws) == ["argument.not-taken", "rcpt.address-literal"], ws
    assert ws["rcpt.address-literal"]["scenarios"] == ["s1", "s3"]
    assert ws["rcpt.address-literal"]["why"] == "Software: w"
    assert ws["argument.not-taken"]["why"] == update_expected.TODO
    assert update_expected.warning_problems(ws["argument.not-taken"])
    assert not update_expected.warning_problems(ws["rcpt.address-literal"])
    assert any("lines.trailing-space-refused on DATA (500): no longer shown" in n for n in notes)
    dumped = json.loads(update_expected.dump_expected(data))
    assert [w["rule"] for w in dumped["warnings"]] == ["argument.not-taken",
                                                        "rcpt.address-literal"]
    assert list(dumped)[-1] == "warnings"
    # Postfix queue ids differ from run to run; re-recording does not churn on them.
    assert (update_expected.volatile_free("S: 250 2.0.0 Ok: queued as 6BDE2A7C07D")
            == update_expected.volatile_free("S: 250 2.0.0 Ok: queued as 173A1A7C629"))


def smtplib_view(server, host=None, port=None):
    """What smtplib reads from SERVER: greeting, EHLO and a few stateless
    commands' codes."""
    host = host or server.host
    port = port or server.port
    view = {}
    with smtplib.SMTP(timeout=10) as s:
        code, msg = s.connect(host, port)
        view["greeting"] = (code, msg.decode("utf-8", "replace"))
        code, _ = s.ehlo(CLIENT)
        view["ehlo_code"] = code
        view["ehlo_keywords"] = {k.upper() for k in s.esmtp_features}
        for cmd in ("NOOP", "RSET"):
            view[cmd] = s.docmd(cmd)[0]
        view["QUIT"] = s.docmd("QUIT")[0]
        s.close()
    return view


def reply_keywords(lines):
    """EHLO reply lines ("250-PIPELINING", ...) -> keyword set (no domain line)."""
    return {line[4:].split(" ")[0].upper() for line in lines[1:] if len(line) > 4}


def test_replies_match_smtplib(core_run):
    """The codes and EHLO keywords in the JSON report are what smtplib reads
    from the same server for the same commands."""
    name, server, res = core_run
    report = res.report
    view = smtplib_view(server)
    checked = {"CONNECT": 0, "EHLO": 0, "simple": 0}
    problems = []

    probe = report.get("probe")
    if probe:
        if probe.get("greeting"):
            assert probe["greeting"][:3] == str(view["greeting"][0]), (probe, view)
        if probe.get("ehlo_keywords") is not None:
            kws = {k.split(" ")[0].upper() for k in probe["ehlo_keywords"]}
            assert kws == view["ehlo_keywords"], (
                "probe EHLO keywords %s, smtplib %s" % (sorted(kws), sorted(view["ehlo_keywords"])))

    for sc in report["scenarios"]:
        for st in sc.get("steps") or []:
            reply = st.get("reply")
            if reply is None or reply["code"] < 0:
                continue
            sent = st.get("sent") or ""
            if sent.endswith("\\r\\n"):
                sent = sent[:-4]
            where = "%s line %s (%s)" % (sc["id"], st.get("line"), st.get("command"))
            if st.get("command") == "CONNECT":
                checked["CONNECT"] += 1
                if reply["code"] != view["greeting"][0]:
                    problems.append("%s: greeting %s, smtplib %s"
                                    % (where, reply["code"], view["greeting"][0]))
            elif st.get("command") == "EHLO" and re.fullmatch(r"EHLO [!-~]+", sent, re.I):
                if reply["code"] != 250:
                    continue  # EHLO with a deliberately bad argument
                checked["EHLO"] += 1
                if reply_keywords(reply["lines"]) != view["ehlo_keywords"]:
                    problems.append("%s: EHLO keywords %s, smtplib %s"
                                    % (where, sorted(reply_keywords(reply["lines"])),
                                       sorted(view["ehlo_keywords"])))
            elif sent.upper() in ("NOOP", "RSET", "QUIT") and "\\" not in sent:
                checked["simple"] += 1
                if reply["code"] != view[sent.upper()]:
                    problems.append("%s: %s -> %s, smtplib %s"
                                    % (where, sent, reply["code"], view[sent.upper()]))
    assert not problems, "harness and smtplib disagree:\n" + "\n".join(problems)
    assert checked["CONNECT"] > 0, "no greeting step to compare: %s" % checked
    assert checked["EHLO"] > 0, "no plain EHLO step to compare: %s" % checked


@pytest.mark.slow
@pytest.mark.parametrize("name", IPV6_SERVERS)
def test_ipv6_target(name, request, tmp_path):
    """The [::1]:PORT target form reaches an IPv6 listener (aiosmtpd bound to
    ::1 only; Postfix's and OpenSMTPD's second listener) with the same
    verdicts as IPv4."""
    if name == "aiosmtpd":
        server = request.getfixturevalue("aiosmtpd_server_v6")
        target = server.target
    else:
        # Postfix and OpenSMTPD: a second listener of the same instance.
        server = request.getfixturevalue(SERVER_FIXTURES[name])
        if not server.port6:
            pytest.skip("no IPv6 loopback (::1) on this machine")
        target = server.target6
    assert target.startswith("[::1]:")
    res = run_core(server, tmp_path / "report6.json", target=target)
    report = res.report
    assert report["target"] == target, report["target"]
    errors = [sc["id"] for sc in report["scenarios"] if sc["verdict"] == "error"]
    assert not errors, servers.describe_scenarios(report, errors)
    known = known_deviations(name)
    bad = [sc["id"] for sc in report["scenarios"]
           if sc["verdict"] == "fail" and sc["id"] not in known]
    assert not bad, servers.describe_scenarios(report, bad)


def test_postfix_instance_is_private(postfix_server):
    """The Postfix instance listens only on loopback, relays nothing for the
    harness' address and keeps its config check clean."""
    assert postfix_server.host == "127.0.0.1"
    assert postfix_server.check_output == "", postfix_server.check_output
    assert postfix_server.warnings == [], "\n".join(postfix_server.warnings)
    with smtplib.SMTP(postfix_server.host, postfix_server.port, timeout=10) as s:
        s.ehlo(CLIENT)
        assert s.mail("conform@smtpconform.example")[0] == 250
        code, msg = s.rcpt("someone@example.org")
        assert code == 554 and b"Relay access denied" in msg, (code, msg)
        assert s.rcpt("postmaster@%s" % postfix_server.hostname)[0] == 250
        assert s.rcpt("nobody@localhost")[0] == 550
    assert postfix_server.master_pid() in postfix_server.processes()


@pytest.mark.slow
def test_postfix_second_instance_and_stale_sweep(postfix_server, tmp_path):
    """A second private instance runs beside the session's one without
    colliding, and an instance whose owner died is found and stopped by
    sweep_stale_postfix() (what PostfixServer.start() does first)."""
    second = servers.PostfixServer(keep_dir=tmp_path / "second")
    try:
        second.start()
        assert second.port != postfix_server.port
        assert second.instance_dir != postfix_server.instance_dir
        for srv in (postfix_server, second):
            with smtplib.SMTP(srv.host, srv.port, timeout=10) as s:
                assert s.noop()[0] == 250
        master = second.master_pid()
        assert master in second.processes()

        # Pretend the test process that owns `second` was SIGKILLed.
        (second.instance_dir / "owner").write_text("999999999 0\n")
        removed = servers.sweep_stale_postfix()
        assert second.instance_dir in removed
        assert second.processes() == [], second.processes()
        assert not servers.port_accepts("127.0.0.1", second.port)
        # The session's instance belongs to a live owner: left alone.
        assert postfix_server.instance_dir.exists()
        assert postfix_server.master_pid() in postfix_server.processes()
    finally:
        second.stop()
    assert second.processes() == []


def _listening_addresses(pids):
    """(address, port) of the TCP sockets in LISTEN state that PIDS hold
    (from /proc/net/tcp and tcp6, matched by socket inode)."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    found = []
    for table, loopback in (("/proc/net/tcp", "0100007F"),
                            ("/proc/net/tcp6", "00000000000000000000000001000000")):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:
                addr, port = fields[1].split(":")
                found.append(("::1" if table.endswith("6") and addr == loopback else
                              "127.0.0.1" if addr == loopback else addr, int(port, 16)))
    return sorted(found)


def test_opensmtpd_instance_is_private(opensmtpd_server):
    """The OpenSMTPD instance listens on its loopback ports only, runs in
    its own mount namespace (the host's /var/spool/smtpd stays empty),
    relays nothing and accepts mail for its local recipients only."""
    srv = opensmtpd_server
    assert srv.host == "127.0.0.1"
    assert srv.log_warnings() == [], "\n".join(srv.log_warnings())
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as s:
        s.ehlo(CLIENT)
        assert s.mail("conform@smtpconform.example")[0] == 250
        code, msg = s.rcpt("someone@example.org")
        assert code == 550 and b"Invalid recipient" in msg, (code, msg)
        assert s.rcpt("postmaster@%s" % srv.hostname)[0] == 250
        assert s.rcpt("root@localhost")[0] == 250
        assert s.rcpt("nobody@localhost")[0] == 550
    pids = srv.processes()
    # The parent and its klondike, control, lookup, pony express, queue and
    # scheduler processes.
    assert srv.proc.pid in pids and len(pids) >= 7, pids
    expected = [("127.0.0.1", srv.port)] + ([("::1", srv.port6)] if srv.port6 else [])
    assert _listening_addresses(pids) == sorted(expected)
    assert os.listdir("/var/spool/smtpd") == []


@pytest.mark.parametrize("name", ["dovecot", "exim", "haraka", "qpsmtpd", "sendmail"])
def test_namespace_instance_is_private(name, request):
    """Exim, Sendmail, Dovecot, Haraka and qpsmtpd (mta_servers.py) each listen on
    their one loopback port only, accept mail for postmaster of their test
    domain and refuse relaying to a foreign domain for the harness' address
    (Dovecot after AUTH: the refusal comes from its relay, Postfix)."""
    srv = request.getfixturevalue(SERVER_FIXTURES[name])
    assert srv.host == "127.0.0.1"
    pids = srv.processes()
    assert srv.proc.pid in pids, pids
    assert _listening_addresses(pids) == [("127.0.0.1", srv.port)]
    domain = conformance_run.server_domain(srv)
    with smtplib.SMTP(srv.host, srv.port, timeout=20) as s:
        s.ehlo(CLIENT)
        if name == "dovecot":
            s.login(srv.auth_user, srv.auth_password)
        assert s.mail("conform@smtpconform.example")[0] == 250
        code, msg = s.rcpt("relay-test@example.net")
        assert code in (550, 554), (code, msg)
        assert s.rcpt("postmaster@%s" % domain)[0] == 250


@pytest.mark.parametrize("name", ["dovecot", "exim", "haraka", "postfix", "sendmail"])
def test_target_profile(name, request, tmp_path):
    """targets/NAME.conf describes the server `make test` runs: the core
    suite run with it (the port overridden with -t, the timeout with
    --timeout) ends with the
    server's recorded core deviations and nothing else."""
    srv = request.getfixturevalue(SERVER_FIXTURES[name])
    conf = servers.REPO / "targets" / ("%s.conf" % name)
    extra = srv.suite_extra_args() if hasattr(srv, "suite_extra_args") else []
    # --timeout as run_core (the profiles' 30 s would make Haraka's hanging
    # session in core.ehlo.reset cost 30 s).
    timeout = max(10, getattr(srv, "suite_timeout", None) or 0)
    res = servers.run_harness(["run", "-c", conf, "-t", srv.target, "-q",
                               "--timeout", str(timeout)] + extra + [CORE],
                              json_report=tmp_path / "report.json", timeout=300,
                              env=conformance_run.server_env(srv))
    assert res.report is not None, res.describe()
    known = known_deviations(name)
    verdicts = {sc["id"]: sc["verdict"] for sc in res.report["scenarios"]}
    bad = sorted(sid for sid, v in verdicts.items()
                 if (v in ("fail", "error")) != (sid in known))
    assert not bad, servers.describe_scenarios(res.report, bad)


def test_namespace_instance_stale_sweep(exim_server, tmp_path):
    """An Exim instance whose owner died (a SIGKILLed run) is found by its
    mount namespace, stopped and removed by mta_servers.sweep_stale(), what
    every start does first; the session's live instance is left alone."""
    import mta_servers
    second = mta_servers.EximServer(keep_dir=tmp_path / "second")
    try:
        second.start()
        assert second.port != exim_server.port and second.processes()
        (second.instance_dir / "owner").write_text("999999999 0\n")
        removed = mta_servers.sweep_stale("exim")
        assert second.instance_dir in removed
        assert second.processes() == [], second.processes()
        assert not servers.port_accepts("127.0.0.1", second.port)
        assert exim_server.instance_dir.exists() and exim_server.processes()
    finally:
        second.stop()
