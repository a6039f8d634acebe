"""`smtpconform record`, the recording proxy (issue 14): swaks sends a
message through it to the fixture server and to Postfix, and the written
scenario replays green against the same server; findings are printed live
and land in the JSON report; STARTTLS is refused with 454 and a message;
one file per session with -o DIR/.
"""

import json
import os
import shutil
import smtplib
import subprocess
import time

import pytest

import servers


class Recorder:
    """`smtpconform record --listen 127.0.0.1:0 ...` in the background."""

    def __init__(self, target, out, extra=()):
        exe = str(servers.binary_path("smtpconform"))
        if not os.path.exists(exe):
            pytest.fail("%s does not exist: build it first" % exe, pytrace=False)
        self.proc = subprocess.Popen([exe, "record", "--listen", "127.0.0.1:0", "-t", target,
                                      "-o", str(out)] + [str(a) for a in extra],
                                     cwd=str(servers.REPO), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            pytest.fail("record did not start: %r %s" % (line, self.stderr), pytrace=False)
        _, _, host, port = line.split()
        self.host, self.port = host, int(port)
        self.stdout = ""
        self.stderr = ""

    def wait(self, timeout=30):
        try:
            out, err = self.proc.communicate(timeout=timeout * servers.slowdown())
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail("record did not end", pytrace=False)
        self.stdout += out
        self.stderr += err
        return self.proc.returncode

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                out, err = self.proc.communicate(timeout=10)
                self.stdout += out or ""
                self.stderr += err or ""
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


@pytest.fixture
def recorder():
    started = []

    def start(target, out, extra=()):
        r = Recorder(target, out, extra)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def swaks(port, to, extra=()):
    if not shutil.which("swaks"):
        pytest.fail("swaks is not installed (scripts/install-deps.sh test)", pytrace=False)
    proc = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--to", to, "--from",
                           "conform@smtpconform.example", "--helo", "client.example"]
                          + list(extra), capture_output=True, text=True, timeout=60)
    return proc


def replay(path, target, tmp_path, name):
    res = servers.run_harness(["check", path])
    assert res.returncode == 0, res.describe()
    res = servers.run_harness(["run", "-q", "-t", target, path],
                              json_report=tmp_path / ("%s.json" % name), timeout=120)
    assert res.returncode == 0, res.describe()
    assert res.report["summary"]["pass"] == 1, res.report


def test_swaks_through_record_replays_green_on_the_fixture(fixture_server, recorder, tmp_path):
    srv = fixture_server("reference")
    out = tmp_path / "swaks.smtp"
    rec = recorder(srv.target, out)
    proc = swaks(rec.port, "postmaster@localhost", ["--pipeline"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rec.wait() == 0, rec.stdout + rec.stderr
    text = out.read_text()
    assert "C: EHLO client.example\nS: 250\n" in text, text
    assert "C: DATA\n" in text and "D: X-Mailer: swaks" in text, text
    assert text.rstrip().endswith("C: QUIT\nS: 221\nS: close"), text
    report = json.loads((tmp_path / "swaks.json").read_text())
    steps = report["scenarios"][0]["steps"]
    assert [s["command"] for s in steps][:2] == ["CONNECT", "EHLO"], steps
    assert all(s["verdict"] == "pass" for s in steps), steps
    replay(out, srv.target, tmp_path, "swaks-replay")


def test_swaks_through_record_replays_green_on_postfix(postfix_server, recorder, tmp_path):
    srv = postfix_server
    out = tmp_path / "postfix.smtp"
    rec = recorder(srv.target, out)
    proc = swaks(rec.port, "postmaster@%s" % srv.hostname)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rec.wait() == 0, rec.stdout + rec.stderr
    replay(out, srv.target, tmp_path, "postfix-replay")


def test_findings_are_printed_live_and_reported(fixture_server, recorder, tmp_path):
    srv = fixture_server("noop-251")
    out = tmp_path / "noop.smtp"
    rec = recorder(srv.target, out)
    with smtplib.SMTP("127.0.0.1", rec.port, timeout=20) as s:
        s.ehlo("client.example")
        assert s.noop()[0] == 251
        # printed while the session is still open
        deadline = time.monotonic() + 10
        line = ""
        while "NOOP" not in line and time.monotonic() < deadline:
            line = rec.proc.stdout.readline()
        assert "[1] NOOP -> 251: FAIL matrix.not-allowed [error, RFC 5321 4.3.2]" in line, line
    assert rec.wait() == 1, rec.stdout + rec.stderr
    report = json.loads((tmp_path / "noop.json").read_text())
    assert report["summary"]["fail"] == 1, report
    rules = [v["rule"] for st in report["scenarios"][0]["steps"] for v in st["violations"]]
    assert rules == ["matrix.not-allowed"], rules
    assert "C: noop\nS: 251\n" in out.read_text()  # the bytes smtplib sent


def test_starttls_is_refused_with_454(fixture_server, recorder, tmp_path):
    srv = fixture_server("reference", tls=True)
    out = tmp_path / "tls.smtp"
    rec = recorder(srv.target, out)
    with smtplib.SMTP("127.0.0.1", rec.port, timeout=20) as s:
        s.ehlo("client.example")
        assert s.has_extn("starttls")  # relayed as the server sent it
        code, msg = s.docmd("STARTTLS")
        assert code == 454, (code, msg)
        assert b"4.7.0" in msg
        assert s.noop()[0] == 250  # the session goes on in the clear
    rec.wait()
    assert "the client sent STARTTLS: answered 454 4.7.0 by the recorder" in rec.stderr, rec.stderr
    text = out.read_text()
    assert "C: STARTTLS" not in text, text
    replay(out, srv.target, tmp_path, "tls-replay")


def test_one_file_per_session_in_a_directory(fixture_server, recorder, tmp_path):
    srv = fixture_server("reference")
    out = tmp_path / "sessions"
    rec = recorder(srv.target, str(out) + "/", ["--sessions", "2"])
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", rec.port, timeout=20) as s:
            s.ehlo("client.example")
    assert rec.wait() == 0, rec.stdout + rec.stderr
    assert sorted(p.name for p in out.iterdir()) == ["record.json", "session-001.smtp",
                                                      "session-002.smtp"]
    report = json.loads((out / "record.json").read_text())
    assert report["summary"]["total"] == 2, report
