"""`smtpconform load` (issue 15, docs/load.md): scenarios run round-robin as
many sessions, every reply judged; the report gives per-command latency
percentiles from histograms, findings by rule with counts and an example
transcript, and its JSON merges across runs. Against the fixture server and
the test Postfix. Latencies are checked for consistency only (min <= p50 <=
... <= max), never against a clock."""

import json

import pytest

import conformance_run
import servers

PCTS = ["min_us", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us"]

NOOP = """id: load.noop
S: 220
C: EHLO {client}
S: 250
C: NOOP
S: 250
C: QUIT
S: 221
"""

TRANSACTION = """id: load.transaction
S: 220
C: EHLO {client}
S: 250
C: MAIL FROM:<{sender}>
S: 250
C: RCPT TO:<{rcpt}>
S: 250
C: RSET
S: 250
C: QUIT
S: 221
"""


def scenario(tmp_path, text, name):
    path = tmp_path / (name + ".smtp")
    path.write_text(text)
    return path


def load(args, report=None, timeout=120):
    res = servers.run_harness(["load", "-q"] + [str(a) for a in args], json_report=report,
                              timeout=timeout)
    if report is not None:
        assert report.exists(), res.describe()
        res.report = json.loads(report.read_text())
    return res


def assert_percentiles(hist, count):
    assert hist["count"] == count, hist
    values = [hist[k] for k in PCTS]
    assert values == sorted(values), hist
    assert sum(c for _, c in hist["histogram"]["counts"]) == count


def test_load_reports_percentiles_for_every_command(fixture_server, tmp_path):
    srv = fixture_server("reference")
    a = scenario(tmp_path, NOOP, "noop")
    b = scenario(tmp_path, TRANSACTION, "transaction")
    res = load(["-t", srv.target, "-c", "4", "-n", "40", a, b],
               report=tmp_path / "load.json")
    assert res.returncode == 0, res.describe()
    rep = res.report
    assert rep["kind"] == "smtpconform-load"
    assert rep["sessions"] == {"total": 40, "pass": 40, "warn": 0, "fail": 0, "error": 0}
    assert rep["scenarios"] == ["load.noop", "load.transaction"]
    assert 1 <= rep["peak_concurrency"] <= 4
    lat = rep["latency"]
    # Round-robin: 20 sessions of each scenario.
    for command, count in (("CONNECT", 40), ("EHLO", 40), ("NOOP", 20), ("MAIL", 20),
                           ("RCPT", 20), ("RSET", 20), ("QUIT", 40)):
        assert_percentiles(lat[command], count)
    assert list(lat)[:2] == ["CONNECT", "EHLO"] and list(lat)[-1] == "QUIT"
    assert_percentiles(rep["session_latency"], 40)
    assert rep["findings"] == [] and rep["connection_errors"] == []
    # The text report (default, stdout) has the same table.
    res = load(["-t", srv.target, "-n", "3", a])
    assert res.returncode == 0, res.describe()
    for word in ("sessions/s", "messages/s", "p99.9", "CONNECT", "QUIT", "findings: none", "PASS"):
        assert word in res.stdout, res.describe()


def test_load_judges_a_broken_server_and_counts_by_rule(fixture_server, tmp_path):
    srv = fixture_server("bare-lf")
    a = scenario(tmp_path, NOOP, "noop")
    md = tmp_path / "load.md"
    res = load(["-t", srv.target, "-c", "3", "-n", "12", "--report", "md:%s" % md, a],
               report=tmp_path / "load.json")
    assert res.returncode == 1, res.describe()
    rep = res.report
    assert rep["sessions"]["fail"] == 12 and rep["sessions"]["total"] == 12
    rules = {f["rule"]: f for f in rep["findings"]}
    bare = rules["syntax.bare-lf"]
    # Every session fails at its first reply (the greeting ends in a bare LF).
    assert bare["sessions"] == 12 and bare["count"] >= 12
    assert bare["severity"] == "error"
    assert 1 <= len(bare["examples"]) <= 3
    assert bare["examples"][0]["scenario"] == "load.noop"
    assert "S: 220" in bare["examples"][0]["transcript"]
    assert "syntax.bare-lf" in md.read_text()
    # The replies were judged, and still timed.
    assert rep["latency"]["CONNECT"]["count"] == 12


def test_load_json_from_two_runs_merges(fixture_server, tmp_path):
    srv = fixture_server("reference")
    a = scenario(tmp_path, NOOP, "noop")
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    assert load(["-t", srv.target, "-c", "2", "-n", "10", a], report=one).returncode == 0
    assert load(["-t", srv.target, "-c", "3", "-n", "15", a], report=two).returncode == 0
    merged = tmp_path / "merged.json"
    res = servers.run_harness(["merge", one, two, "--report", "json:%s" % merged,
                               "--report", "text"], timeout=60)
    assert res.returncode == 0, res.describe()
    m = json.loads(merged.read_text())
    r1, r2 = json.loads(one.read_text()), json.loads(two.read_text())
    assert m["runs"] == 2
    assert m["sessions"]["total"] == 25 and m["sessions"]["pass"] == 25
    for command in ("CONNECT", "EHLO", "NOOP", "QUIT"):
        assert_percentiles(m["latency"][command], 25)
        assert m["latency"][command]["min_us"] == min(r1["latency"][command]["min_us"],
                                                      r2["latency"][command]["min_us"])
        assert m["latency"][command]["max_us"] == max(r1["latency"][command]["max_us"],
                                                      r2["latency"][command]["max_us"])
    assert m["concurrency"] == 5
    assert "2 runs merged" in res.stdout
    # A merged report merges again (counts keep adding).
    again = tmp_path / "again.json"
    res = servers.run_harness(["merge", merged, one, "--report", "json:%s" % again], timeout=60)
    assert res.returncode == 0, res.describe()
    assert json.loads(again.read_text())["sessions"]["total"] == 35


def test_load_merge_of_a_failing_run_exits_1(fixture_server, tmp_path):
    a = scenario(tmp_path, NOOP, "noop")
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    load(["-t", fixture_server("reference").target, "-n", "4", a], report=good)
    load(["-t", fixture_server("bare-lf").target, "-n", "4", a], report=bad)
    res = servers.run_harness(["merge", good, bad], timeout=60)
    assert res.returncode == 1, res.describe()
    m = json.loads(res.stdout)
    assert m["sessions"]["pass"] == 4 and m["sessions"]["fail"] == 4
    assert [f["rule"] for f in m["findings"]][0] == "syntax.bare-lf"


def test_load_duration_rate_and_ramp(fixture_server, tmp_path):
    srv = fixture_server("reference")
    a = scenario(tmp_path, NOOP, "noop")
    res = load(["-t", srv.target, "-c", "4", "--duration", "1", "--rate", "40", "--ramp", "0.5", a],
               report=tmp_path / "d.json", timeout=60)
    assert res.returncode == 0, res.describe()
    total = res.report["sessions"]["total"]
    # --rate 40 for one second: some sessions, and not hundreds (a loose bound).
    assert 1 <= total <= 60, total
    assert res.elapsed < 30


@pytest.mark.parametrize("args, message", [
    (["-n", "5"], "-t TARGET"),
    (["-t", "127.0.0.1:25"], "-n SESSIONS or --duration"),
    (["-t", "127.0.0.1:25", "-n", "5", "--duration", "2"], "-n SESSIONS or --duration"),
    (["-t", "127.0.0.1:25", "-n", "0"], "-n"),
    (["-t", "127.0.0.1:25", "-n", "5", "-c", "20000"], "-c"),
    (["-t", "127.0.0.1:25", "-n", "5", "--report", "junit"], "text, md or json"),
])
def test_load_usage_errors(tmp_path, args, message):
    a = scenario(tmp_path, NOOP, "noop")
    res = servers.run_harness(["load"] + args + [a], timeout=30)
    assert res.returncode == 2, res.describe()
    assert message in res.stderr, res.describe()


def test_load_unreachable_target_exits_3(tmp_path):
    a = scenario(tmp_path, NOOP, "noop")
    res = servers.run_harness(["load", "-t", "127.0.0.1:%d" % servers.closed_port(), "-n", "3", a],
                              timeout=30)
    assert res.returncode == 3, res.describe()


def test_load_help_and_command_list():
    res = servers.run_harness(["load", "--help"], timeout=30)
    assert res.returncode == 0 and "--duration" in res.stdout and "--ramp" in res.stdout
    assert "you own" in res.stdout
    res = servers.run_harness(["help"], timeout=30)
    assert "load -t TARGET" in res.stdout


@pytest.mark.postfix
def test_load_against_postfix(postfix_server, tmp_path):
    a = scenario(tmp_path, TRANSACTION, "transaction")
    domain = conformance_run.server_domain(postfix_server)
    res = load(["-t", postfix_server.target, "-c", "5", "-n", "30", "--var", "domain=%s" % domain,
                a], report=tmp_path / "postfix.json")
    rep = res.report
    assert rep["sessions"]["total"] == 30, res.describe()
    # Judged as run judges: exit 1 exactly when a session failed.
    assert res.returncode == (1 if rep["sessions"]["fail"] else 0), res.describe()
    for command in ("CONNECT", "EHLO", "MAIL", "RCPT", "RSET", "QUIT"):
        assert_percentiles(rep["latency"][command], rep["latency"]["CONNECT"]["count"])
    assert rep["latency"]["CONNECT"]["count"] == 30


def test_load_memory_does_not_grow_with_sessions(fixture_server, tmp_path):
    """A passing session leaves nothing behind: ten times the sessions, the
    same peak memory (the harness's own VmHWM, in the report)."""
    if servers.under_valgrind() or "asan" in str(servers.build_dir()):
        pytest.skip("a sanitizer's or valgrind's own memory grows with every allocation")
    srv = fixture_server("reference")
    a = scenario(tmp_path, NOOP, "noop")
    rss = []
    for n in (150, 1500):
        res = load(["-t", srv.target, "-c", "10", "-n", str(n), a],
                   report=tmp_path / ("m%d.json" % n), timeout=300)
        assert res.returncode == 0, res.describe()
        rss.append(res.report["peak_rss_kib"])
    assert rss[0] > 0
    assert rss[1] <= rss[0] + 1024, rss


def test_load_interrupted_writes_partial_figures(fixture_server, tmp_path):
    import signal
    import subprocess
    import time
    srv = fixture_server("reference")
    a = scenario(tmp_path, NOOP, "noop")
    report = tmp_path / "int.json"
    proc = subprocess.Popen([str(servers.binary_path("smtpconform")), "load", "-q", "-t", srv.target,
                             "-c", "2", "--duration", "60", "--report", "json:%s" % report, str(a)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    rep = json.loads(report.read_text())
    assert rep["interrupted"] is True
    assert rep["sessions"]["total"] >= 1
    # Sessions cut short by the signal are not counted as errors.
    assert rep["sessions"]["error"] == 0 and rep["connection_errors"] == []
    assert "interrupted" in err.decode()


def time_wait_to(port):
    """Sockets in TIME_WAIT whose remote end is 127.0.0.1:port (the client's
    side of connections to a server on that port), from /proc/net/tcp."""
    count = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "06" and int(fields[2].split(":")[1], 16) == port:
                count += 1
    return count


def test_load_leaves_no_time_wait_after_quit(fixture_server, tmp_path):
    """A session whose QUIT got 221 closes with a reset, as smtp-source does:
    no TIME_WAIT is left on the client's side (a long run at hundreds of
    sessions a second would otherwise run out of local ports), and every
    session still passes, QUIT's 221 judged."""
    srv = fixture_server("reference")
    port = int(srv.target.rsplit(":", 1)[1])
    a = scenario(tmp_path, NOOP, "noop")
    res = load(["-t", srv.target, "-c", "2", "-n", "50", a], report=tmp_path / "tw.json")
    assert res.returncode == 0, res.describe()
    assert res.report["sessions"]["pass"] == 50
    assert res.report["latency"]["QUIT"]["count"] == 50
    assert time_wait_to(port) == 0


def test_load_goes_on_past_findings_on_the_expected_reply(fixture_server, tmp_path):
    """A reply the script expected but an RFC rule fails (RSET's multiline
    reply whose lines carry 250 and 251, syntax.multiline-code) is counted and
    the session goes on, so the load still loads; a reply the script did not
    expect (NOOP answered 251) ends the session as in `run`."""
    beh = tmp_path / "rset-plain.beh"
    beh.write_text('raw RSET "250-2.0.0 reset\\r\\n251 2.0.0 done\\r\\n"\ncode NOOP 251\n')
    srv = fixture_server(beh)
    a = scenario(tmp_path, TRANSACTION, "transaction")
    res = load(["-t", srv.target, "-c", "2", "-n", "8", a], report=tmp_path / "t.json")
    assert res.returncode == 1, res.describe()
    rep = res.report
    rules = {f["rule"]: f for f in rep["findings"]}
    assert rules["syntax.multiline-code"]["sessions"] == 8, rep["findings"]
    assert rep["latency"]["QUIT"]["count"] == 8, rep["latency"].keys()

    b = scenario(tmp_path, NOOP, "noop")
    res = load(["-t", srv.target, "-n", "4", b], report=tmp_path / "n.json")
    assert res.returncode == 1, res.describe()
    assert "expect.code" in {f["rule"] for f in res.report["findings"]}
    assert "QUIT" not in res.report["latency"], res.report["latency"].keys()
