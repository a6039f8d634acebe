"""The bundled core suite against real SMTP servers: a private Postfix
instance, a private OpenSMTPD instance and aiosmtpd, all on loopback (see
servers.py).

Every core scenario must pass (or skip) on every server, except the known
deviations listed below. A deviation that starts passing is reported too,
so the list cannot go stale. The replies the harness recorded are also
cross-checked against what Python's smtplib reads from the same server.
"""

import os
import re
import smtplib

import pytest

import servers

CORE = "scenarios/core"
CLIENT = "smtpconform.example"

# Known deviations: scenario id -> how and why the server fails it: the rule
# and command of the failing step, the transcript excerpt showing it and the
# RFC text it violates. A scenario listed here must fail in exactly that way
# (an entry that starts passing, or fails differently, fails the test so the
# list stays accurate); any other failing scenario fails the test.
KNOWN_DEVIATIONS = {
    "postfix": {
    },
    "opensmtpd": {
        # OpenSMTPD answers any second HELO/EHLO with 503 "Already
        # identified", whether or not a transaction is open.
        "core.ehlo.repeat": {
            "rule": "expect.code",
            "command": "EHLO",
            "transcript": (
                "C: EHLO smtpconform.example\n"
                "S: 250-opensmtpd.smtpconform.test Hello smtpconform.example [127.0.0.1], "
                "pleased to meet you\n"
                "S: 250-8BITMIME\n"
                "S: 250-ENHANCEDSTATUSCODES\n"
                "S: 250-SIZE 36700160\n"
                "S: 250-DSN\n"
                "S: 250 HELP\n"
                "C: EHLO smtpconform.example\n"
                "S: 503 5.5.1 Invalid command: Already identified"),
            "rfc": ("RFC 5321 4.1.4 (Order of Commands): \"An EHLO command MAY be issued "
                    "by a client later in the session.\" ... \"If the EHLO command is not "
                    "acceptable to the SMTP server, 501, 500, 502, or 550 failure replies "
                    "MUST be returned as appropriate.\" - 503 is not one of them (nor in "
                    "4.3.2's EHLO list: \"S: 250  E: 504 ..., 550, 502\")."),
        },
        "core.ehlo.reset": {
            "rule": "expect.code",
            "command": "EHLO",
            "transcript": (
                "C: MAIL FROM:<conform@smtpconform.example>\n"
                "S: 250 2.0.0 Ok\n"
                "C: EHLO smtpconform.example\n"
                "S: 503 5.5.1 Invalid command: Already identified"),
            "rfc": ("RFC 5321 4.1.4: \"A mail transaction may be aborted by the RSET, a "
                    "new EHLO, or the QUIT command.\" A later EHLO that is acceptable "
                    "\"MUST clear all buffers and reset the state exactly as if a RSET "
                    "command had been issued\"; one that is not acceptable gets \"501, "
                    "500, 502, or 550 failure replies\" - never 503 (same refusal as "
                    "core.ehlo.repeat, here with a transaction open)."),
        },
        "core.noop.argument": {
            "rule": "expect.code",
            "command": "NOOP",
            "transcript": (
                "C: NOOP smtpconform\n"
                "S: 500 5.5.4 Invalid command arguments: command does not accept arguments."),
            "rfc": ("RFC 5321 4.1.1.9 (NOOP): \"If a parameter string is specified, "
                    "servers SHOULD ignore it.\"  Syntax: noop = \"NOOP\" [ SP String ] "
                    "CRLF; 4.3.2 lists only \"NOOP  S: 250\"."),
        },
    },
    "aiosmtpd": {
        "core.help.basic": {
            "rule": "matrix.not-allowed",
            "command": "HELP",
            "transcript": (
                "C: HELP\n"
                "S: 250 Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT "
                "RSET VRFY"),
            "rfc": ("RFC 5321 4.3.2 (Command-Reply Sequences): \"HELP  S: 211, 214  "
                    "E: 502, 504\" - 250 is not a reply HELP may get; 214 is the "
                    "\"Help message\" code of 4.2.3."),
        },
    },
}

SERVER_FIXTURES = {
    "postfix": "postfix_server",
    "opensmtpd": "opensmtpd_server",
    "aiosmtpd": "aiosmtpd_server",
}


def run_core(server, report_path, target=None, extra=()):
    args = ["run", "-t", target or server.target,
            "--var", "domain=%s" % server.hostname,
            "--timeout", "10", "-j", "4", "-q"] + list(extra) + [CORE]
    res = servers.run_harness(args, json_report=report_path, timeout=300)
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
    assert s["pass"] + s["fail"] + s["skip"] + s["error"] == s["total"]
    for sc in report["scenarios"]:
        assert sc["verdict"] in ("pass", "fail", "skip", "error"), sc["verdict"]
        for st in sc.get("steps") or []:
            reply = st.get("reply")
            if reply is None:
                continue
            lines = reply["lines"]
            assert reply["lines_total"] >= len(lines)
            # The code the harness reports is the one on the first line.
            if lines and re.match(r"\d{3}", lines[0]) and reply["code"] >= 0:
                assert int(lines[0][:3]) == reply["code"], (sc["id"], st)


@pytest.mark.slow
def test_core_suite(core_run):
    name, server, res = core_run
    report = res.report
    check_report_shape(report)
    assert report["summary"]["total"] > 0, "no scenarios ran\n%s" % res.describe()

    known = KNOWN_DEVIATIONS[name]
    bad = [sc["id"] for sc in report["scenarios"]
           if sc["verdict"] in ("fail", "error") and sc["id"] not in known]
    verdicts = {sc["id"]: sc["verdict"] for sc in report["scenarios"]}
    stale = [i for i in known if verdicts.get(i) in ("pass", "skip")]
    for sc in report["scenarios"]:
        dev = known.get(sc["id"])
        if dev is None or sc["verdict"] != "fail":
            continue
        rules = {(v["rule"], st.get("command")) for st in sc["steps"]
                 for v in st.get("violations") or [] if v["severity"] == "error"}
        if (dev["rule"], dev["command"]) not in rules:
            bad.append(sc["id"])  # fails, but not the way the entry says
    missing = [i for i in known if i not in verdicts]

    msg = []
    if bad:
        msg.append("%d core scenario(s) failed against %s (%s) and are not known deviations:\n%s"
                   % (len(bad), name, server.target, servers.describe_scenarios(report, bad)))
    if stale:
        msg.append("known deviations of %s now pass: remove them from KNOWN_DEVIATIONS: %s"
                   % (name, stale))
    if missing:
        msg.append("known deviations of %s name scenarios that no longer exist: %s"
                   % (name, missing))
    assert not msg, "\n\n".join(msg) + "\n\n" + res.describe(limit=2000)

    expected_rc = 1 if any(verdicts[i] == "fail" for i in known) else 0
    if any(verdicts[i] == "error" for i in known) and expected_rc == 0:
        expected_rc = 3
    assert res.returncode == expected_rc, res.describe()


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
@pytest.mark.parametrize("name", sorted(SERVER_FIXTURES))
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
    known = KNOWN_DEVIATIONS[name]
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
