"""`smtpconform shell` on a pseudo-terminal (pexpect), issue 14: the prompt,
a command and its judged reply, a verdict for a good and for a bad reply
(fixture mutants), completion after EHLO, .starttls, .auth with the password
never on the screen nor in the saved file, .save producing a scenario that
`check` accepts and `run` passes against the same server (fixture, Postfix,
aiosmtpd), Ctrl-C during a slow reply, Ctrl-D, and the same lines from a
pipe.
"""

import base64
import os
import re
import subprocess
import time

import pexpect
import pytest

import servers

PROMPT = "smtp> "
# Colours are on (a terminal): the verdict word may be wrapped in ANSI codes.
ANSI = r"(?:\x1b\[[0-9;]*m)*"
OK = r"=> " + ANSI + "ok" + ANSI
TIMEOUT = int(os.environ.get("SHELL_TEST_TIMEOUT", "20"))


class Shell:
    """One `smtpconform shell` on a pty; .log is everything it printed."""

    def __init__(self, args, env=None):
        exe = str(servers.binary_path("smtpconform"))
        if not os.path.exists(exe):
            pytest.fail("%s does not exist: build it first" % exe, pytrace=False)
        run_env = dict(os.environ)
        run_env.pop("NO_COLOR", None)
        run_env["TERM"] = "xterm"
        if env:
            run_env.update(env)
        self.logfile = _Log()
        self.p = pexpect.spawn(exe, ["shell"] + [str(a) for a in args], env=run_env,
                               cwd=str(servers.REPO), encoding="utf-8",
                               timeout=TIMEOUT * servers.slowdown(), dimensions=(40, 200))
        self.p.logfile_read = self.logfile

    def expect(self, pattern):
        try:
            return self.p.expect(pattern)
        except (pexpect.TIMEOUT, pexpect.EOF):
            pytest.fail("shell output did not match %r; output so far:\n%s"
                        % (pattern, self.log), pytrace=False)

    def prompt(self):
        self.expect(re.escape(PROMPT))

    def command(self, line):
        """Sends a line and waits for the next prompt; returns what came between."""
        start = len(self.logfile.text)
        self.p.sendline(line)
        self.prompt()
        return self.logfile.text[start:]

    @property
    def log(self):
        return self.logfile.text

    def close(self):
        if self.p.isalive():
            self.p.sendeof()
            try:
                self.p.expect(pexpect.EOF, timeout=10)
            except pexpect.TIMEOUT:
                pass
        self.p.close(force=True)


class _Log:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


@pytest.fixture
def shell():
    started = []

    def start(args, env=None):
        sh = Shell(args, env)
        started.append(sh)
        return sh

    yield start
    for sh in started:
        sh.close()


def harness(args, tmp_path, name, env=None):
    return servers.run_harness(list(args) + ["-q"], json_report=tmp_path / ("%s.json" % name),
                               timeout=120, env=env)


def test_prompt_command_reply_and_ok_verdict(fixture_server, shell):
    srv = fixture_server("reference")
    sh = shell(["-t", srv.target])
    sh.expect(r"220 fixture\.smtpconform\.test ESMTP")
    sh.expect(OK)
    sh.prompt()
    out = sh.command("NOOP")
    assert "\n250 2.0.0 OK\r\n" in out, out
    assert re.search(OK, out), out


def test_bad_reply_gets_a_finding_with_rule_level_and_section(fixture_server, shell):
    srv = fixture_server("noop-251")
    sh = shell(["-t", srv.target])
    sh.prompt()
    out = sh.command("NOOP")
    assert "251 2.0.0 OK" in out, out
    assert re.search(r"=> " + ANSI + "FAIL" + ANSI +
                     r" matrix\.not-allowed \[error, RFC 5321 4\.3\.2\] 251 is not an allowed "
                     r"reply to NOOP", out), out
    # colour on a terminal: FAIL in red
    assert "\x1b[1;31mFAIL" in out, out


def test_completion_offers_keywords_after_ehlo(fixture_server, shell):
    srv = fixture_server("reference")
    sh = shell(["-t", srv.target])
    sh.prompt()
    # Before EHLO, CHUNKING is no verb the shell knows: nothing completes.
    sh.p.send("CHUN\t")
    time.sleep(0.3)
    sh.p.sendcontrol("u")
    sh.p.sendline("")
    sh.prompt()
    before = sh.log
    assert "CHUNKING" not in before, before
    sh.command("EHLO client.example")
    start = len(sh.log)
    # libedit redraws the line: "CHUN" then the rest of the word
    sh.p.send("CHUN\t")
    sh.expect(r"CHUN[\s\S]{0,40}KING")
    sh.p.sendcontrol("u")
    sh.p.send("NO\t")
    sh.expect(r"NO[\s\S]{0,40}OP")
    sh.p.sendline("")
    sh.expect("250 2.0.0 OK")  # NOOP went out, not "NO" (500)
    sh.prompt()
    assert "KING" in sh.log[start:]


def test_starttls_shows_certificate_and_verification(fixture_server, shell):
    srv = fixture_server("reference", tls=True)
    sh = shell(["-t", srv.target, "--ca-file", srv.ca_file, "--sni", "localhost"])
    sh.prompt()
    sh.command("EHLO client.example")
    out = sh.command(".starttls")
    assert "220 2.0.0 Ready to start TLS" in out, out
    assert re.search(r"\* TLS up: TLSv1\.[23] \S+", out), out
    assert "certificate: subject" in out, out
    assert "certificate: verified (chain and name)" in out, out
    out = sh.command("EHLO client.example")
    assert "STARTTLS" not in out, out  # RFC 3207 4.2: not offered again
    out = sh.command(".state")
    assert re.search(r"tls: TLSv1\.[23] \S+, certificate verified", out), out


def test_starttls_unverified_says_so(fixture_server, shell):
    srv = fixture_server("reference", tls=True)
    sh = shell(["-t", srv.target, "--tls-verify", "off"])
    sh.prompt()
    out = sh.command(".starttls")
    assert "certificate: NOT verified" in out, out


def _forms(secret):
    b = secret.encode()
    return [secret, base64.b64encode(b).decode(), b.hex()]


def test_auth_save_check_and_run_against_aiosmtpd(aiosmtpd_auth_server, shell, tmp_path):
    srv = aiosmtpd_auth_server
    env = {"SMTPCONFORM_TEST_PASSWORD": srv.auth_password}
    sh = shell(["-t", srv.target, "--ca-file", srv.ca_file, "--auth-user", srv.auth_user,
                "--auth-password-env", "SMTPCONFORM_TEST_PASSWORD"], env=env)
    sh.prompt()
    sh.command("EHLO client.example")
    out = sh.command(".starttls")
    assert "certificate: verified" in out, out
    sh.command("EHLO client.example")
    # completion of the advertised mechanisms
    sh.p.send("AUTH CRA\t")
    sh.expect(r"CRA[\s\S]{0,40}M-MD5")
    sh.p.sendcontrol("u")
    sh.p.sendline("")
    sh.prompt()
    out = sh.command(".auth PLAIN")
    assert "AUTH PLAIN <initial response not shown>" in out, out
    assert re.search(r"235 .*\n.*" + OK, out), out
    out = sh.command(".auth LOGIN")  # a second AUTH: 503
    assert "<SASL response not shown>" not in out or "503" in out, out
    sh.command("QUIT")
    path = tmp_path / "auth.smtp"
    out = sh.command(".save %s" % path)
    assert "lint-clean" in out, out
    text = path.read_text()
    assert "A: PLAIN\nS: 235\n" in text, text
    for form in _forms(srv.auth_password) + [base64.b64encode(
            ("\0%s\0%s" % (srv.auth_user, srv.auth_password)).encode()).decode()]:
        assert form not in sh.log, "secret on the screen"
        assert form not in text, "secret in the saved file"
    res = servers.run_harness(["check", path])
    assert res.returncode == 0, res.describe()
    res = harness(["run", "-t", srv.target, "--ca-file", srv.ca_file, "--auth-user",
                   srv.auth_user, "--auth-password-env", "SMTPCONFORM_TEST_PASSWORD", path],
                  tmp_path, "auth-run", env=env)
    assert res.returncode == 0, res.describe()
    assert res.report["summary"]["pass"] == 1, res.report


def test_auth_without_credentials_says_how(fixture_server, shell):
    srv = fixture_server("reference")
    sh = shell(["-t", srv.target])
    sh.prompt()
    out = sh.command(".auth PLAIN")
    assert "--auth-user USER" in out and "never typed" in out, out


def test_save_check_and_run_against_postfix(postfix_server, shell, tmp_path):
    srv = postfix_server
    sh = shell(["-t", srv.target])
    sh.prompt()
    for line in ("EHLO client.example", "MAIL FROM:<conform@smtpconform.example>",
                 "RCPT TO:<postmaster@%s>" % srv.hostname, "DATA"):
        out = sh.command(line)
        assert re.search(OK, out), out
    sh.command("Subject: shell test {braces}")
    sh.command("")
    sh.command("..a line starting with a dot")
    out = sh.command(".")
    assert re.search(r"250 .*\n" + OK, out), out
    out = sh.command("QUIT")
    assert "the server closed the connection" in out, out
    path = tmp_path / "postfix-session.smtp"
    out = sh.command(".save %s" % path)
    assert "lint-clean" in out, out
    text = path.read_text()
    assert "D: Subject: shell test {{braces}\nD:\nD: .a line starting with a dot\nS: 250\n" \
        in text, text
    assert text.rstrip().endswith("C: QUIT\nS: 221\nS: close"), text
    res = servers.run_harness(["check", path])
    assert res.returncode == 0, res.describe()
    res = harness(["run", "-t", srv.target, path], tmp_path, "postfix-run")
    assert res.returncode == 0, res.describe()


def test_save_of_fixture_session_replays_green(fixture_server, shell, tmp_path):
    srv = fixture_server("reference")
    sh = shell(["-t", srv.target])
    sh.prompt()
    sh.command("EHLO client.example")
    sh.command("MAIL FROM:<a@example.com>")
    sh.command("RCPT TO:<postmaster@localhost>")
    body = tmp_path / "msg.txt"
    body.write_text("Subject: hi\n\n.dot first\nbye\n")
    out = sh.command(".data %s" % body)
    assert "354" in out and "250 2.0.0" in out, out
    sh.command('.raw "NOOP\\r\\nRSET\\r\\n"')
    out = sh.command(".state")
    assert "hello: EHLO" in out and "keywords: PIPELINING" in out, out
    path = tmp_path / "fixture-session.smtp"
    sh.command(".save %s" % path)
    text = path.read_text()
    assert "D: .dot first\n" in text and 'R: "NOOP\\r\\nRSET\\r\\n"\nS: 250\nS: 250\n' in text, text
    res = harness(["run", "-t", srv.target, path], tmp_path, "fixture-run")
    assert res.returncode == 0, res.describe()


def test_ctrl_c_interrupts_a_slow_reply_not_the_session(fixture_server, shell, tmp_path):
    beh = tmp_path / "slow-noop.beh"
    beh.write_text("delay NOOP#1 3000\n")
    srv = fixture_server(str(beh))
    sh = shell(["-t", srv.target])
    sh.prompt()
    sh.p.sendline("NOOP")
    time.sleep(0.5)
    sh.p.sendintr()
    sh.expect("interrupted: no longer waiting for the reply to NOOP")
    sh.prompt()
    assert sh.p.isalive()
    out = sh.command(".state")
    assert "replies owed: NOOP" in out, out
    # The late reply is shown (and judged) before the next one.
    out = sh.command("NOOP")
    assert len(re.findall(r"250 2\.0\.0 OK\r?\n" + OK, out)) == 2, out


def test_ctrl_c_at_the_prompt_and_ctrl_d_quits(fixture_server, shell):
    srv = fixture_server("reference")
    sh = shell(["-t", srv.target])
    sh.prompt()
    sh.p.send("NOO")
    sh.p.expect("NOO")  # typed, as a person does, then Ctrl-C
    sh.p.sendintr()
    sh.prompt()
    out = sh.command("NOOP")
    assert "250 2.0.0 OK" in out, out
    sh.p.sendeof()
    sh.p.expect(pexpect.EOF)
    sh.p.close()
    assert sh.p.exitstatus == 0, sh.log


def test_pipe_prints_the_same_lines(fixture_server, tmp_path):
    srv = fixture_server("noop-251")
    exe = str(servers.binary_path("smtpconform"))
    proc = subprocess.run([exe, "shell", "-t", srv.target], input="EHLO x\nNOOP\nQUIT\n",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b[" not in out, out  # no colours off a terminal
    assert "smtp> NOOP\n251 2.0.0 OK\n=> FAIL matrix.not-allowed [error, RFC 5321 4.3.2]" in out, out
    assert "smtp> QUIT\n221 " in out, out


def test_unreachable_target_exits_3(tmp_path):
    exe = str(servers.binary_path("smtpconform"))
    port = servers.closed_port()
    proc = subprocess.run([exe, "shell", "-t", "127.0.0.1:%d" % port], input="",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 3, proc
    assert "cannot connect" in proc.stderr, proc.stderr


def test_protocol_model_judges_in_the_shell(fixture_server, shell, tmp_path):
    """The shell's verdict line comes from the same protocol model as run:
    VRFY answered 500 breaks RFC 5321 4.5.1's minimum implementation (a
    code the per-command matrix alone allows)."""
    beh = tmp_path / "vrfy-500.beh"
    beh.write_text("code VRFY 500\n")
    srv = fixture_server(str(beh))
    sh = shell(["-t", srv.target])
    sh.prompt()
    sh.command("EHLO client.example")
    out = sh.command("VRFY postmaster")
    assert re.search(r"=> " + ANSI + "FAIL" + ANSI + r" .*command\.minimum \[error, RFC 5321 "
                     r"4\.5\.1\] VRFY got 500", out), out
    out = sh.command("NOOP")
    assert re.search(OK, out), out
