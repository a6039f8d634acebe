"""Hardening (issue 9): no server can hang, exhaust or crash the harness.

Hostile servers are played by small Python servers on 127.0.0.1 (or a unix
socket in the test's directory), defined here: an endless AUTH 334, replies
that take just under the per-reply deadline, a server that goes away after
the capability probe, a slow reader, a reset in the middle of a message,
and an exec: program that leaves a child behind. Time and memory bounds are
generous hang guards, not benchmarks.
"""

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import servers

PASSWORD = "hardening-s3cret"


# ---------------------------------------------------------------------------
# scripted servers


class LineServer:
    """A threaded SMTP-ish server: handler(conn, lines) per connection,
    where lines() yields the client's lines (bytes, without CRLF).
    family AF_UNIX takes path=."""

    def __init__(self, handler, path=None, rcvbuf=None, max_conns=None):
        self.handler = handler
        self.path = path
        self.max_conns = max_conns
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(path))
            self.target = "unix:%s" % path
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.bind(("127.0.0.1", 0))
            self.target = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.sock.listen(64)
        self.conns = 0
        self.stats = {}
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            last = bool(self.max_conns and self.conns >= self.max_conns)
            if last:
                self.stop()  # before serving: nobody can connect any more
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
            if last:
                return

    def _serve(self, conn):
        buf = bytearray()

        def lines():
            while True:
                i = buf.find(b"\r\n")
                if i >= 0:
                    line = bytes(buf[:i])
                    del buf[:i + 2]
                    yield line
                    continue
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf.extend(data)

        try:
            self.handler(conn, lines(), self.stats)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        """Stops listening (and removes a unix socket's path)."""
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def ehlo_reply(extra=()):
    lines = ["hostile.test"] + list(extra)
    out = "".join("250-%s\r\n" % l for l in lines[:-1]) + "250 %s\r\n" % lines[-1]
    return out.encode()


def simple_smtp(conn, lines, stats, ehlo_extra=(), on_data=None, delay=0.0):
    """A plain conformant server: 220, EHLO, MAIL, RCPT, DATA (via on_data
    or read to the dot), NOOP, QUIT."""
    conn.sendall(b"220 hostile.test ESMTP\r\n")
    for line in lines:
        verb = line.split(b" ", 1)[0].upper()
        if delay:
            time.sleep(delay)
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(ehlo_reply(ehlo_extra))
        elif verb == b"DATA":
            conn.sendall(b"354 go ahead\r\n")
            if on_data:
                on_data(conn, lines, stats)
                return
            for body_line in lines:
                if body_line == b".":
                    break
            conn.sendall(b"250 queued\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"250 ok\r\n")


@pytest.fixture
def line_server():
    started = []

    def start(handler, **kwargs):
        server = LineServer(handler, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def write_scenario(directory, name, text):
    path = Path(directory) / name
    path.write_text(text)
    return path


def peak_rss_run(args, timeout, env=None, preexec=None, pass_fds=()):
    """Runs smtpconform ARGS in a child of a fresh python, so that the
    child's peak RSS (ru_maxrss of RUSAGE_CHILDREN, in KiB) is the harness's
    alone. Returns (returncode, stdout, stderr, peak_kib)."""
    exe = str(servers.binary_path("smtpconform"))
    wrapper = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, close_fds=False)\n"
        "sys.stderr.write('\\nPEAK_RSS_KIB %d\\n' % "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(p.returncode)\n")
    run_env = dict(os.environ)
    run_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", wrapper, exe] + [str(a) for a in args],
                          cwd=str(servers.REPO), capture_output=True, timeout=timeout,
                          env=run_env, preexec_fn=preexec, pass_fds=pass_fds)
    err = proc.stderr.decode("utf-8", "replace")
    peak = 0
    for line in err.splitlines():
        if line.startswith("PEAK_RSS_KIB "):
            peak = int(line.split()[1])
    assert not servers.sanitizer_findings(err), err[-4000:]
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), err, peak


def rss_measured():
    """Peak RSS says something only for a plain build: AddressSanitizer's
    shadow memory and quarantine, or valgrind, multiply it."""
    if servers.under_valgrind():
        return False
    data = servers.binary_path("smtpconform").read_bytes()
    return b"__asan_init" not in data and b"__msan_init" not in data


def scenarios_of(report):
    return {sc["id"]: sc for sc in report["scenarios"]}


def rules_of(sc):
    return [v["rule"] for st in sc.get("steps", []) for v in st.get("violations", [])]


# ---------------------------------------------------------------------------
# 1. endless SASL exchange, scenario budget


def endless_334(conn, lines, stats):
    """Answers every AUTH response with another 334, up to 2,000 rounds
    (so that an unbounded client ends too, with connection.closed)."""
    conn.sendall(b"220 hostile.test ESMTP\r\n")
    rounds = 0
    in_auth = False
    for line in lines:
        verb = line.split(b" ", 1)[0].upper()
        if in_auth:
            rounds += 1
            stats["responses"] = rounds
            if rounds > 2000:
                return
            conn.sendall(b"334 UGFzc3dvcmQ6\r\n")
        elif verb == b"EHLO":
            conn.sendall(ehlo_reply(["AUTH PLAIN LOGIN CRAM-MD5"]))
        elif verb == b"AUTH":
            in_auth = True
            conn.sendall(b"334 VXNlcm5hbWU6\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"250 ok\r\n")


@pytest.mark.parametrize("mech,most", [("LOGIN", 2), ("CRAM-MD5", 1), ("PLAIN noir", 1),
                                       ("PLAIN cancel", 1)])
def test_endless_334_is_bounded(mech, most, line_server, scratch):
    server = line_server(endless_334)
    sc = write_scenario(scratch, "auth.smtp",
                        "id: h.auth\nS: 220\nC: EHLO x\nS: 250\nA: %s\nS: 235\nC: QUIT\nS: 221\n" % mech)
    res = servers.run_harness(["run", "-t", server.target, "--timeout", "5", "-q",
                               "--auth-user", "conform", sc],
                              json_report=scratch / "r.json", timeout=60,
                              env={"SMTPCONFORM_PASSWORD": PASSWORD})
    assert res.returncode == 1, res.describe()
    scenario = scenarios_of(res.report)["h.auth"]
    # auth.challenge (one challenge too many), or for "*" the protocol model's
    # auth.cancel (RFC 4954 4: a cancelled exchange gets 501, not another 334)
    assert {"auth.challenge", "auth.cancel"} & set(rules_of(scenario)), \
        json.dumps(scenario, indent=1)[:3000]
    # The mechanism's own challenges are answered, one more is not.
    assert server.stats.get("responses", 0) <= most, server.stats
    assert res.elapsed < 20, res.describe()


def slow_replies(conn, lines, stats):
    simple_smtp(conn, lines, stats, delay=1.5)


def test_scenario_budget_bounds_slow_replies(line_server, scratch):
    """Every reply comes within --timeout, but the scenario as a whole
    cannot outlast --scenario-timeout."""
    server = line_server(slow_replies)
    steps = "".join("C: NOOP\nS: 250\n" for _ in range(20))
    sc = write_scenario(scratch, "slow.smtp", "id: h.slow\nS: 220\nC: EHLO x\nS: 250\n" + steps)
    res = servers.run_harness(["run", "-t", server.target, "--timeout", "5",
                               "--scenario-timeout", "4", "-q", sc],
                              json_report=scratch / "r.json", timeout=60)
    assert res.returncode == 1, res.describe()
    scenario = scenarios_of(res.report)["h.slow"]
    assert "timeout" in rules_of(scenario), json.dumps(scenario, indent=1)[:3000]
    assert "budget of 4 s" in json.dumps(scenario), json.dumps(scenario, indent=1)[:3000]
    assert scenario["duration_ms"] < 4000 + 3000 * servers.slowdown(), scenario["duration_ms"]


def test_scenario_timeout_in_profile_and_help(line_server, scratch):
    server = line_server(slow_replies)
    steps = "".join("C: NOOP\nS: 250\n" for _ in range(20))
    sc = write_scenario(scratch, "slow.smtp", "id: h.slow\nS: 220\nC: EHLO x\nS: 250\n" + steps)
    conf = scratch / "t.conf"
    conf.write_text("target = %s\nscenario-timeout = 3\ntimeout = 5\n" % server.target)
    res = servers.run_harness(["run", "-c", conf, "-q", sc], json_report=scratch / "r.json",
                              timeout=60)
    assert res.returncode == 1, res.describe()
    assert "budget of 3 s" in json.dumps(res.report), res.describe()
    help_text = servers.run_harness(["run", "--help"]).stdout
    assert "--scenario-timeout" in help_text and "3600" in help_text, help_text


# ---------------------------------------------------------------------------
# 2. scheduling without recursion (and 9: memory that does not grow per scenario)


def probe_then_vanish(path):
    """A unix-socket server that answers the capability probe, then removes
    its socket: every scenario fails at once (no wait)."""

    def handler(conn, lines, stats):
        simple_smtp(conn, lines, stats)

    return dict(handler=handler, path=path, max_conns=1)


def many_scenarios(directory, count):
    directory.mkdir()
    for i in range(count):
        (directory / ("s%05d.smtp" % i)).write_text("S: 220\n")
    return directory


@pytest.mark.parametrize("count,peak_mib", [(10000, 60), (40000, 120)])
def test_instant_failures_do_not_recurse(count, peak_mib, line_server, tmp_path):
    """COUNT scenarios that fail without waiting: no stack overflow (the old
    scheduler recursed and crashed near 12,500), a complete report, and
    memory that does not keep a session per scenario (the old engine: about
    22 KiB per scenario, 220 MB for 10,000)."""
    sock = Path("/tmp") / ("smtpconform-h-%d.sock" % os.getpid())
    server = line_server(**probe_then_vanish(sock))
    scen = many_scenarios(tmp_path / "many", count)
    report = tmp_path / "r.tap"
    code, out, err, peak = peak_rss_run(
        ["run", "-t", server.target, "-j", "8", "-q", "--report", "tap:%s" % report, scen],
        timeout=600 * servers.slowdown())
    assert code == 3, "exit %d (a crash is negative)\n%s" % (code, err[-3000:])
    lines = report.read_text().splitlines()
    assert "1..%d" % count in lines, lines[:3]
    assert sum(1 for l in lines if l.startswith("not ok ")) == count
    if rss_measured():
        assert peak < peak_mib * 1024, "peak RSS %d KiB for %d scenarios" % (peak, count)


# ---------------------------------------------------------------------------
# 3. descriptor limits


def limit_fds(soft, hard):
    def preexec():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return preexec


def run_core_limited(target, report, jobs, soft, hard, extra_fds=0):
    """The core suite at -j JOBS under RLIMIT_NOFILE (soft, hard), with
    EXTRA_FDS descriptors inherited (open before the harness starts)."""
    held = [os.open("/dev/null", os.O_RDONLY) for _ in range(extra_fds)]
    try:
        for fd in held:
            os.set_inheritable(fd, True)
        return peak_rss_run(["run", "-t", target, "--timeout", "10", "-j", str(jobs), "-q",
                             "--report", "json:%s" % report, "scenarios/core"],
                            timeout=300 * servers.slowdown(), preexec=limit_fds(soft, hard),
                            pass_fds=held)
    finally:
        for fd in held:
            os.close(fd)


def assert_all_passed(report_path, err):
    data = json.loads(Path(report_path).read_text())
    bad = [(sc["id"], sc["verdict"], sc.get("reason")) for sc in data["scenarios"]
           if sc["verdict"] not in ("pass", "skip")]
    assert not bad, "%s\n%s" % (bad[:10], err[-2000:])


def test_soft_fd_limit_is_raised(fixture_server, tmp_path):
    server = fixture_server("reference")
    code, out, err, _ = run_core_limited(server.target, tmp_path / "r.json", jobs=64,
                                         soft=12, hard=1024)
    assert code == 0, err[-3000:]
    assert "capped" not in err, err
    assert_all_passed(tmp_path / "r.json", err)


def test_jobs_capped_to_hard_fd_limit(fixture_server, tmp_path):
    server = fixture_server("reference")
    code, out, err, _ = run_core_limited(server.target, tmp_path / "r.json", jobs=64,
                                         soft=40, hard=40)
    assert code == 0, err[-3000:]
    assert "-j 64 capped to 24" in err, err
    assert_all_passed(tmp_path / "r.json", err)


def test_emfile_waits_for_a_session_to_end(fixture_server, tmp_path):
    """Descriptors the cap does not know about (inherited) run out: the
    scenarios that found none start again later, none is an error."""
    server = fixture_server("reference")
    code, out, err, _ = run_core_limited(server.target, tmp_path / "r.json", jobs=40,
                                         soft=64, hard=64, extra_fds=36)
    assert code == 0, err[-3000:]
    assert_all_passed(tmp_path / "r.json", err)


# ---------------------------------------------------------------------------
# 4. signals at any moment


def no_tmp_files(directory):
    return [p.name for p in Path(directory).iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_probe_writes_reports(sig, code, fixture_server, tmp_path):
    server = fixture_server("no-greeting")
    out = tmp_path / "out"
    out.mkdir()
    exe = str(servers.binary_path("smtpconform"))
    proc = subprocess.Popen([exe, "run", "-t", server.target, "-q", "scenarios/core",
                             "--report", "json:%s" % (out / "r.json"),
                             "--report", "junit:%s" % (out / "r.xml")],
                            cwd=str(servers.REPO), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0 * servers.slowdown())  # the probe waits for a greeting (5 min)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30 * servers.slowdown())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, (proc.returncode, stderr)
    data = json.loads((out / "r.json").read_text())
    assert data["interrupted"] is True, data.keys()
    assert all(sc["verdict"] == "error" and "interrupted" in sc["reason"]
               for sc in data["scenarios"]), data["scenarios"][:2]
    assert "interrupted" in (out / "r.xml").read_text()
    assert not no_tmp_files(out)


def test_signal_during_report_writing(line_server, tmp_path):
    """SIGTERM as soon as a report's temporary file shows up: every report
    is still written whole, says interrupted, and no temporary file stays."""
    sock = Path("/tmp") / ("smtpconform-h2-%d.sock" % os.getpid())
    server = line_server(**probe_then_vanish(sock))
    scen = many_scenarios(tmp_path / "many", 10000)
    out = tmp_path / "out"
    out.mkdir()
    exe = str(servers.binary_path("smtpconform"))
    proc = subprocess.Popen([exe, "run", "-t", server.target, "-j", "8", "-q", scen,
                             "--report", "json:%s" % (out / "a.json"),
                             "--report", "html:%s" % (out / "b.html"),
                             "--report", "json:%s" % (out / "c.json")],
                            cwd=str(servers.REPO), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sent = False
    deadline = time.monotonic() + 300 * servers.slowdown()
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if no_tmp_files(out):
                proc.send_signal(signal.SIGTERM)
                sent = True
                break
            time.sleep(0.0005)
        _, stderr = proc.communicate(timeout=120 * servers.slowdown())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if not sent:
        pytest.skip("the reports were written before a temporary file was seen")
    assert proc.returncode == 143, (proc.returncode, stderr[-2000:])
    assert not no_tmp_files(out), no_tmp_files(out)
    for name in ("a.json", "c.json"):
        data = json.loads((out / name).read_text())
        assert data["interrupted"] is True, name
        assert data["summary"]["total"] == 10000
    assert "interrupted" in (out / "b.html").read_text().lower()


# ---------------------------------------------------------------------------
# 9. memory: a big D: body is not copied into the record


def read_body(conn, lines, stats):
    size = 0
    for line in lines:
        if line == b".":
            break
        size += len(line) + 2
    stats["body"] = size
    conn.sendall(b"250 queued\r\n")
    for line in lines:
        if line.upper() == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return


def test_big_body_is_not_kept(line_server, scratch):
    server = line_server(lambda c, l, s: simple_smtp(c, l, s, on_data=read_body))
    big = "x" * 50000  # a D: line expands to at most 64 KiB
    body = "".join("D: {big}\n" for _ in range(800))  # 40 MB
    sc = write_scenario(scratch, "big.smtp",
                        "id: h.big\nS: 220\nC: EHLO x\nS: 250\nC: MAIL FROM:<a@b.test>\nS: 250\n"
                        "C: RCPT TO:<c@d.test>\nS: 250\nC: DATA\nS: 354\n" + body +
                        "S: 250\nC: QUIT\nS: 221\n")
    report = scratch / "r.json"
    code, out, err, peak = peak_rss_run(
        ["run", "-t", server.target, "-q", "--var", "big=%s" % big, "--report",
         "json:%s" % report, sc], timeout=300 * servers.slowdown())
    assert code == 0, err[-3000:]
    assert server.stats.get("body", 0) >= 40 * 1000 * 1000, server.stats
    assert report.stat().st_size < 200 * 1024, report.stat().st_size
    text = report.read_text()
    assert "bytes not kept]" in text, text[:2000]
    # The body is in the send buffer once (40 MB), not also in the record
    # (the old harness: about 3 times the body).
    if rss_measured():
        assert peak < 90 * 1024, "peak RSS %d KiB for a 40 MB body" % peak


# ---------------------------------------------------------------------------
# 10. writes: progress re-arms the deadline, a reset is a reset


def slow_reader(conn, lines, stats):
    """Reads the message at about 2 MB/s."""
    total = 0
    while True:
        time.sleep(0.05)
        try:
            data = conn.recv(100 * 1024)
        except OSError:
            return
        if not data:
            return
        total += len(data)
        if data.endswith(b"\r\n.\r\n"):
            break
    stats["body"] = total
    conn.sendall(b"250 queued\r\n")


def body_scenario(directory, lines):
    body = "".join("D: {big}\n" for _ in range(lines))
    return write_scenario(directory, "body.smtp",
                          "id: h.body\nS: 220\nC: EHLO x\nS: 250\nC: MAIL FROM:<a@b.test>\nS: 250\n"
                          "C: RCPT TO:<c@d.test>\nS: 250\nC: DATA\nS: 354\n" + body + "S: 250\n")


def test_steady_slow_reader_is_not_a_timeout(line_server, scratch):
    """10 MB read at ~2 MB/s takes ~5 s: more than --timeout 2, yet every
    data block moves within it (RFC 5321 4.5.3.2.5)."""
    server = line_server(lambda c, l, s: simple_smtp(c, l, s, on_data=slow_reader),
                         rcvbuf=64 * 1024)
    sc = body_scenario(scratch, 200)
    res = servers.run_harness(["run", "-t", server.target, "--timeout", "2", "-q",
                               "--var", "big=%s" % ("y" * 50000), sc],
                              json_report=scratch / "r.json", timeout=120)
    assert res.returncode == 0, res.describe() + json.dumps(res.report)[:3000]
    assert server.stats.get("body", 0) >= 10 * 1000 * 1000, server.stats


def reset_mid_body(conn, lines, stats):
    conn.recv(64 * 1024)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


def test_reset_during_write_is_a_reset(line_server, scratch):
    server = line_server(lambda c, l, s: simple_smtp(c, l, s, on_data=reset_mid_body),
                         rcvbuf=64 * 1024)
    sc = body_scenario(scratch, 100)
    res = servers.run_harness(["run", "-t", server.target, "--timeout", "5", "-q",
                               "--var", "big=%s" % ("z" * 50000), sc],
                              json_report=scratch / "r.json", timeout=60)
    assert res.returncode == 1, res.describe()
    rules = rules_of(scenarios_of(res.report)["h.body"])
    assert "connection.reset" in rules, rules


# ---------------------------------------------------------------------------
# 10. exec: targets leave nothing behind

STDIO_SERVER = r"""
import os, subprocess, sys
child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open(sys.argv[1], "a") as f:
    f.write("%d\n" % child.pid)
out = sys.stdout.buffer
out.write(b"220 stdio.test ESMTP\r\n"); out.flush()
for line in sys.stdin.buffer:
    verb = line.split()[0].upper() if line.split() else b""
    if verb == b"QUIT":
        out.write(b"221 bye\r\n"); out.flush()
        break
    out.write(b"250 ok\r\n"); out.flush()
"""


def alive(pid):
    """Running (a zombie waiting for a reaper does not count)."""
    try:
        status = Path("/proc/%d/status" % pid).read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def test_exec_target_process_group_is_ended(scratch):
    script = scratch / "stdio_server.py"
    script.write_text(STDIO_SERVER)
    pids = scratch / "pids"
    sc = write_scenario(scratch, "e.smtp", "id: h.exec\nS: 220\nC: NOOP\nS: 250\nC: QUIT\nS: 221\n")
    res = servers.run_harness(["run", "-t", "exec:%s %s %s" % (sys.executable, script, pids),
                               "-q", sc], json_report=scratch / "r.json", timeout=60)
    left = []
    try:
        assert res.returncode == 0, res.describe()
        time.sleep(0.3)
        for pid in [int(p) for p in pids.read_text().split()]:
            if alive(pid):
                left.append(pid)
    finally:
        for pid in [int(p) for p in pids.read_text().split()] if pids.exists() else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert not left, "processes started by the exec: target survive: %s" % left
