"""servers.py - start and stop the SMTP servers the end-to-end tests talk to,
and run the smtpconform binary.

Servers (all listen on loopback only, on ports picked at run time):

  PostfixServer   a private Postfix instance: own config, queue and data
                  directories, started as root with `postfix -c DIR start`,
                  stopped with `postfix -c DIR stop` plus a check that no
                  process of the instance survives.
  OpensmtpdServer a private OpenSMTPD (Debian's .deb unpacked into
                  build/opensmtpd by scripts/install-third-mta.sh): `smtpd
                  -d -f CONF` in the foreground, as root, in its own mount
                  namespace (own spool, control socket, resolv.conf),
                  stopped with SIGTERM plus a check that no process of the
                  instance survives.
  AiosmtpdServer  tests/e2e/aiosmtpd_server.py under Debian's python3
                  (optionally STARTTLS or implicit TLS, and AUTH).
  FixtureServer   build/smtpfixture --listen 127.0.0.1:0 --behaviour FILE
                  (optionally --tls-cert/--tls-key [--implicit-tls]).

TLS: PostfixServer, AiosmtpdServer and FixtureServer take cert=, key= and
ca_file= (PEM paths, e.g. from tls.make_pki()) and expose .ca_file; the
implicit-TLS port (RFC 8314) is .tls_target. AUTH (AiosmtpdServer only):
.auth_user, .auth_password, .auth_env.

Every server registers itself while running; stop_all() (called from an
atexit hook and from conftest.py) stops whatever is still up. Postfix and
OpenSMTPD instances whose owning test process died (SIGKILL, crash) are
found and stopped by the next start() (sweep_stale_postfix(),
sweep_stale_opensmtpd()).

Environment:
  SMTPCONFORM_BUILD     directory of smtpconform and smtpfixture (default
                        "build", relative to the repository root)
  SMTPCONFORM_VALGRIND  1: run smtpconform under valgrind; exit 99 = errors
  SMTPCONFORM_E2E_TMP   where Postfix and OpenSMTPD instance directories go
                        (default /tmp; must be traversable by the postfix user)
  SMTPCONFORM_E2E_KEEP  1: keep Postfix and OpenSMTPD instance directories
                        after stopping
  SMTPCONFORM_OPENSMTPD_PREFIX  where install-third-mta.sh unpacked OpenSMTPD
                        (default build/opensmtpd, relative to the repository)
"""

import atexit
import ctypes
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parent.parent
POSTFIX_TEMPLATES = E2E_DIR / "postfix"
BEHAVIOURS_DIR = REPO / "fixtures" / "behaviours"

# Debian's python carries aiosmtpd (python3-aiosmtpd); a pyenv python on PATH
# may not.
DEBIAN_PYTHON = "/usr/bin/python3"
SERVER_PYTHON = DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else sys.executable

LOOPBACK = ("127.0.0.1", "::1")
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)
VALGRIND_EXIT = 99


class ServerError(RuntimeError):
    """A server could not be started or stopped cleanly."""


# ---------------------------------------------------------------------------
# small helpers


def env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def build_dir():
    d = Path(os.environ.get("SMTPCONFORM_BUILD") or "build")
    return d if d.is_absolute() else REPO / d


def binary_path(name):
    """build/NAME (no existence check)."""
    return build_dir() / name


def under_valgrind():
    return env_flag("SMTPCONFORM_VALGRIND")


def slowdown():
    """Factor for hang guards: valgrind makes the harness ~20x slower."""
    return 6 if under_valgrind() else 1


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    """A port nothing listens on right now (bind to 0, read it, close)."""
    if host not in LOOPBACK:
        raise ValueError("loopback only: %r" % host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def closed_port(host="127.0.0.1"):
    """A loopback port that refuses connections (for exit code 3 tests)."""
    for _ in range(20):
        port = free_port(host)
        if not port_accepts(host, port, timeout=0.5):
            return port
    raise ServerError("could not find a closed port on %s" % host)


def format_target(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def port_accepts(host, port, timeout=1.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def read_reply(sock, deadline):
    """Reads one SMTP reply (possibly multiline); returns its raw bytes."""
    buf = b""
    while True:
        # A reply is complete when its last line is "DDD " / "DDD\r\n".
        lines = buf.split(b"\n")
        for line in lines[:-1]:
            line = line.rstrip(b"\r")
            if len(line) >= 3 and line[:3].isdigit() and (len(line) == 3 or line[3:4] == b" "):
                return buf
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no complete reply: %r" % buf[:200])
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before a complete reply: %r" % buf[:200])
        buf += chunk


def wait_for_greeting(host, port, timeout=20.0, proc=None):
    """Polls until HOST:PORT accepts and sends a 220 greeting; QUITs and
    returns the greeting text. Fails early if PROC (a Popen) exited."""
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError("server exited with %s before greeting" % proc.returncode)
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect((host, port))
                greeting = read_reply(s, min(deadline, time.monotonic() + 10))
                if not greeting.startswith(b"220"):
                    raise ServerError("unexpected greeting %r" % greeting)
                s.sendall(b"QUIT\r\n")
                try:
                    read_reply(s, time.monotonic() + 2)
                except (OSError, ConnectionError):
                    pass
                return greeting.decode("utf-8", "replace")
        except (OSError, ConnectionError) as e:
            last = e
            time.sleep(0.05)
    raise ServerError("no greeting from %s within %.0fs: %s"
                      % (format_target(host, port), timeout, last))


def wait_for_tls_greeting(host, port, timeout=20.0, proc=None, context=None):
    """wait_for_greeting() for an implicit-TLS port (RFC 8314): the TLS
    handshake first (CONTEXT, default: no verification), then the 220."""
    import ssl
    if context is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError("server exited with %s before greeting" % proc.returncode)
        try:
            with socket.socket(family, socket.SOCK_STREAM) as raw:
                raw.settimeout(2)
                raw.connect((host, port))
                with context.wrap_socket(raw, server_hostname=host) as s:
                    greeting = read_reply(s, min(deadline, time.monotonic() + 10))
                    if not greeting.startswith(b"220"):
                        raise ServerError("unexpected greeting %r" % greeting)
                    s.sendall(b"QUIT\r\n")
                    try:
                        read_reply(s, time.monotonic() + 2)
                    except (OSError, ConnectionError):
                        pass
                    return greeting.decode("utf-8", "replace")
        except (OSError, ConnectionError) as e:
            last = e
            time.sleep(0.05)
    raise ServerError("no TLS greeting from %s within %.0fs: %s"
                      % (format_target(host, port), timeout, last))


def _proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # Field 22 (starttime), counted after the ")" that ends the command name.
    return stat.rsplit(")", 1)[1].split()[19]


def _proc_is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def pids_with_env(name, value):
    """Live (non-zombie) processes whose environment has NAME=VALUE."""
    needle = ("%s=%s" % (name, value)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env and not _proc_is_zombie(pid):
            found.append(pid)
    return found


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None


def _set_pdeathsig():
    """preexec_fn: SIGTERM the child when the test process dies (Linux).
    libc is loaded beforehand: the child only makes the one call."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def tail(path, lines=200):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return "(no log: %s)" % e
    all_lines = text.splitlines()
    if len(all_lines) > lines:
        return "... (%d lines cut)\n" % (len(all_lines) - lines) + "\n".join(all_lines[-lines:])
    return text


# ---------------------------------------------------------------------------
# registry of running servers

_LIVE = []
_LIVE_LOCK = threading.Lock()


def _register(server):
    with _LIVE_LOCK:
        _LIVE.append(server)


def _unregister(server):
    with _LIVE_LOCK:
        if server in _LIVE:
            _LIVE.remove(server)


def live_servers():
    with _LIVE_LOCK:
        return list(_LIVE)


def stop_all():
    """Stops every server still running (last started first)."""
    errors = []
    for server in reversed(live_servers()):
        try:
            server.stop()
        except Exception as e:  # keep stopping the others
            errors.append("%s: %s" % (server.name, e))
    return errors


atexit.register(stop_all)


class Server:
    """Common interface: name, host, port, target, start(), stop(), log_text()."""

    name = "server"

    def __init__(self, host="127.0.0.1"):
        if host not in LOOPBACK:
            raise ValueError("servers listen on loopback only, not %r" % host)
        self.host = host
        self.port = None
        self.greeting = None
        self.start_seconds = None
        self.running = False

    @property
    def target(self):
        return format_target(self.host, self.port)

    def log_text(self, lines=200):
        return ""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        return "<%s %s>" % (self.name, self.target if self.port else "stopped")


# ---------------------------------------------------------------------------
# servers that are a child process announcing "READY host port"


class SubprocessServer(Server):
    ready_timeout = 20.0
    wait_greeting = True
    env = None  # the child's environment; None: inherit ours

    def __init__(self, argv, log_dir, host="127.0.0.1"):
        super().__init__(host)
        self.argv = [str(a) for a in argv]
        self.log_dir = Path(log_dir)
        self.log_path = self.log_dir / ("%s.log" % self.name)
        self.proc = None
        self._log = None
        self._drain = None

    def start(self):
        t0 = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab", buffering=0)
        self._log.write(("$ %s\n" % " ".join(self.argv)).encode())
        self.proc = subprocess.Popen(
            self.argv, cwd=str(REPO), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self._log, env=self.env,
            preexec_fn=_set_pdeathsig)
        self.running = True
        _register(self)
        try:
            line = self._read_ready_line(t0 + self.ready_timeout)
            m = re.match(r"READY (\S+) (\d+)\s*$", line)
            if not m:
                raise ServerError("%s: expected 'READY HOST PORT', got %r" % (self.name, line))
            self.host, self.port = m.group(1), int(m.group(2))
            if self.host not in LOOPBACK:
                raise ServerError("%s listens on non-loopback %s" % (self.name, self.host))
            self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
            self._drain.start()
            if self.wait_greeting:
                self.greeting = wait_for_greeting(self.host, self.port, proc=self.proc)
        except BaseException as e:
            self.stop()
            if isinstance(e, ServerError):
                raise ServerError("%s\n--- %s log ---\n%s" % (e, self.name, self.log_text()))
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _read_ready_line(self, deadline):
        fd = self.proc.stdout.fileno()
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServerError("%s: no READY line within %.0fs (got %r)"
                                      % (self.name, self.ready_timeout, buf))
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise ServerError("%s exited (%s) before READY (got %r)"
                                      % (self.name, self.proc.wait(5), buf))
                buf += chunk
        line, _, rest = buf.partition(b"\n")
        if rest:
            self._log.write(rest)
        return line.decode("utf-8", "replace")

    def _drain_stdout(self):
        try:
            for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
                self._log.write(chunk)
        except (OSError, ValueError):
            pass

    def exited_early(self):
        """None while running (or stopped by stop()); else the exit status
        of a server that exited by itself (negative: killed by a signal)."""
        if self.proc is None:
            return None
        if self.running:
            return self.proc.poll()
        return self._early_status

    _early_status = None

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s. Idempotent. A server that had
        already exited by itself is noted in its log and exited_early()."""
        if self.proc is not None:
            if self.running and self.proc.poll() is not None:
                self._early_status = self.proc.returncode
                if self._log is not None:
                    self._log.write(("smtpconform-e2e: %s had exited by itself, status %s\n"
                                     % (self.name, self.proc.returncode)).encode())
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            if self._drain is not None:
                self._drain.join(2)
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None
        self.running = False
        _unregister(self)

    @property
    def returncode(self):
        return None if self.proc is None else self.proc.returncode

    def log_text(self, lines=200):
        return tail(self.log_path, lines) if self.log_path.exists() else ""


AUTH_PASSWORD_ENV = "SMTPCONFORM_TEST_PASSWORD"
AUTH_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


class AiosmtpdServer(SubprocessServer):
    """tests/e2e/aiosmtpd_server.py. Without keyword arguments: the plain
    server (no TLS, no AUTH).

    cert=, key= (PEM): STARTTLS offered; require_starttls=True: 530 before
    it; implicit_tls=True: TLS from the first byte instead (RFC 8314), and
    .tls_target is then the same port as .target. ca_file= is recorded for
    tests (the CA that signed cert).
    auth=True: AUTH for one account, .auth_user (default "conform") with
    .auth_password (default: $SMTPCONFORM_TEST_PASSWORD, else a random one
    for this server), given to the server in its environment; .auth_env is
    {"SMTPCONFORM_TEST_PASSWORD": password}, for run_harness(env=...).
    auth_mechanisms: subset of PLAIN, LOGIN, CRAM-MD5 (default all three).
    auth_require_tls=True (aiosmtpd's default): AUTH only over TLS (538
    5.7.11 before); auth_required=True: 530 for mail commands before AUTH.
    """

    name = "aiosmtpd"
    hostname = "aiosmtpd.smtpconform.test"

    def __init__(self, log_dir, host="127.0.0.1", extra_args=(), cert=None, key=None,
                 ca_file=None, implicit_tls=False, require_starttls=False, auth=False,
                 auth_user="conform", auth_password=None, auth_mechanisms=None,
                 auth_require_tls=True, auth_required=False):
        argv = [SERVER_PYTHON, E2E_DIR / "aiosmtpd_server.py",
                "--listen", format_target(host, 0),
                "--hostname", self.hostname, "--domain", "localhost"] + list(extra_args)
        if (cert is None) != (key is None):
            raise ValueError("cert= and key= go together")
        if (implicit_tls or require_starttls) and cert is None:
            raise ValueError("implicit_tls and require_starttls need cert= and key=")
        self.cert_file = Path(cert) if cert else None
        self.key_file = Path(key) if key else None
        self.ca_file = Path(ca_file) if ca_file else None
        self.implicit_tls = bool(implicit_tls)
        self.tls_mode = None if cert is None else "implicit" if implicit_tls else "starttls"
        if cert is not None:
            argv += ["--tls-cert", cert, "--tls-key", key]
        if implicit_tls:
            argv.append("--implicit-tls")
        if require_starttls:
            argv.append("--require-starttls")
        self.auth = bool(auth)
        self.auth_user = auth_user if auth else None
        self.auth_password = None
        self.auth_mechanisms = ()
        if auth:
            import secrets
            self.auth_password = (auth_password or os.environ.get(AUTH_PASSWORD_ENV)
                                  or secrets.token_urlsafe(18))
            self.auth_mechanisms = tuple(auth_mechanisms or AUTH_MECHANISMS)
            argv += ["--auth", "--auth-user", auth_user]
            if auth_mechanisms:
                for m in auth_mechanisms:
                    argv += ["--auth-mechanism", m]
            if not auth_require_tls:
                argv.append("--auth-allow-plaintext")
            if auth_required:
                argv.append("--auth-required")
            self.env = dict(os.environ, **{AUTH_PASSWORD_ENV: self.auth_password})
        self.auth_require_tls = auth_require_tls
        self.wait_greeting = not self.implicit_tls
        super().__init__(argv, log_dir, host)

    @property
    def auth_env(self):
        """{"SMTPCONFORM_TEST_PASSWORD": password} (empty without auth)."""
        return {AUTH_PASSWORD_ENV: self.auth_password} if self.auth_password else {}

    @property
    def tls_target(self):
        """The implicit-TLS target (this server's only port), or None."""
        return self.target if self.implicit_tls and self.port else None

    def start(self):
        super().start()
        if self.implicit_tls:
            try:
                self.greeting = wait_for_tls_greeting(self.host, self.port, proc=self.proc)
            except BaseException as e:
                self.stop()
                if isinstance(e, ServerError):
                    raise ServerError("%s\n--- %s log ---\n%s" % (e, self.name, self.log_text()))
                raise
        return self


class FixtureServer(SubprocessServer):
    """build/smtpfixture with one behaviour file. Does not wait for a
    greeting: some behaviours never send one."""

    name = "smtpfixture"
    wait_greeting = False

    def __init__(self, behaviour, log_dir, cert=None, key=None, ca_file=None,
                 implicit_tls=False):
        """cert=, key= (PEM): STARTTLS offered (--tls-cert/--tls-key);
        implicit_tls=True: TLS from the first byte (--implicit-tls), and
        .tls_target is the same port as .target. ca_file= is recorded for
        tests (the CA that signed cert)."""
        beh = Path(behaviour)
        if not beh.is_absolute() and not beh.exists():
            beh = BEHAVIOURS_DIR / beh
        if beh.suffix != ".beh" and not beh.exists():
            beh = beh.with_suffix(".beh")
        self.behaviour = beh
        self.name = "smtpfixture-" + beh.stem
        argv = [binary_path("smtpfixture"), "--listen", "127.0.0.1:0", "--behaviour", beh]
        if (cert is None) != (key is None):
            raise ValueError("cert= and key= go together")
        if implicit_tls and cert is None:
            raise ValueError("implicit_tls needs cert= and key=")
        self.cert_file = Path(cert) if cert else None
        self.key_file = Path(key) if key else None
        self.ca_file = Path(ca_file) if ca_file else None
        self.implicit_tls = bool(implicit_tls)
        self.tls_mode = None if cert is None else "implicit" if implicit_tls else "starttls"
        if cert is not None:
            argv += ["--tls-cert", cert, "--tls-key", key]
        if implicit_tls:
            argv.append("--implicit-tls")
        super().__init__(argv, log_dir)

    @property
    def tls_target(self):
        """The implicit-TLS target (this server's only port), or None."""
        return self.target if self.implicit_tls and self.port else None

    def start(self):
        exe = binary_path("smtpfixture")
        if not exe.exists():
            raise ServerError("%s does not exist: build it first (make all, or set "
                              "SMTPCONFORM_BUILD)" % exe)
        if not self.behaviour.exists():
            raise ServerError("behaviour file %s does not exist" % self.behaviour)
        return super().start()

    def sanitizer_output(self):
        text = self.log_text(lines=10**6)
        return [m for m in SANITIZER_MARKERS if m in text]


# ---------------------------------------------------------------------------
# Postfix


def postfix_tmp_root():
    root = Path(os.environ.get("SMTPCONFORM_E2E_TMP") or "/tmp")
    # Postfix daemons run as the postfix user and chdir into the queue
    # directory, so every ancestor must be searchable by others. pytest's
    # own tmp dirs (/tmp/pytest-of-root, mode 0700) are not.
    p = root.resolve()
    for anc in [p] + list(p.parents):
        if not os.stat(anc).st_mode & 0o001:
            raise ServerError("%s is not searchable by the postfix user (mode of %s); set "
                              "SMTPCONFORM_E2E_TMP to a directory like /tmp" % (root, anc))
    return p


INSTANCE_PREFIX = "smtpconform-postfix-"


def _postfix_cmd(config_dir, *args, timeout=60):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
    return subprocess.run(["postfix", "-c", str(config_dir)] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=env, timeout=timeout)


def _kill_instance(config_dir, grace=10.0):
    """Stops every process of the instance whose config dir is CONFIG_DIR:
    `postfix stop`, wait, `postfix abort`, then SIGKILL what is left.
    Returns the pids that had to be killed."""
    config_dir = str(config_dir)
    if pids_with_env("MAIL_CONFIG", config_dir):
        try:
            _postfix_cmd(config_dir, "stop", timeout=30)
        except (OSError, subprocess.SubprocessError):
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pids_with_env("MAIL_CONFIG", config_dir):
        time.sleep(0.05)
    left = pids_with_env("MAIL_CONFIG", config_dir)
    if left:
        try:
            _postfix_cmd(config_dir, "abort", timeout=30)
        except (OSError, subprocess.SubprocessError):
            pass
        time.sleep(0.5)
        for pid in pids_with_env("MAIL_CONFIG", config_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and pids_with_env("MAIL_CONFIG", config_dir):
            time.sleep(0.05)
        still = pids_with_env("MAIL_CONFIG", config_dir)
        if still:
            raise ServerError("postfix processes %s of %s survive SIGKILL" % (still, config_dir))
    return left


def sweep_stale_postfix(root=None):
    """Stops and removes instance directories whose owning process is gone
    (a test run that was SIGKILLed or crashed). Instances of other live test
    runs are left alone. Returns the directories removed."""
    root = Path(root) if root else postfix_tmp_root()
    removed = []
    for d in sorted(root.glob(INSTANCE_PREFIX + "*")):
        if not d.is_dir() or (d / "kept").exists():
            continue
        try:
            pid_s, start_s = (d / "owner").read_text().split()
            alive = _proc_starttime(int(pid_s)) == start_s
        except (OSError, ValueError):
            # No owner file: either being created right now or broken. Only
            # remove it when it is old.
            alive = time.time() - d.stat().st_mtime < 600
        if alive:
            continue
        try:
            _kill_instance(d / "conf")
        except ServerError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


class PostfixServer(Server):
    """A private Postfix instance on 127.0.0.1 (and [::1] when available).

    keep_dir: a directory (e.g. pytest's tmp_path) the maillog and the
    configuration are copied to when the instance stops, so they outlive it.

    tls=True (with cert= and key=, PEM files, e.g. from tls.make_pki()):
    STARTTLS is offered on the plain listeners (smtpd_tls_security_level =
    may), and with implicit_tls=True (the default) a second smtpd listens
    on tls_port (and tls_port6) in wrapper mode: implicit TLS, RFC 8314.
    The settings come from postfix/main-tls.cf.in and master-tls.cf.in;
    without tls the configuration is exactly the default instance's.
    ca_file (optional) is only recorded, for tests: the CA that signed cert.
    """

    name = "postfix"
    hostname = "postfix.smtpconform.test"

    def __init__(self, keep_dir=None, ipv6=None, tls=False, cert=None, key=None, ca_file=None,
                 implicit_tls=True, mynetworks="198.51.100.1/32",
                 outbound="error:smtpconform test instance does not relay"):
        super().__init__("127.0.0.1")
        # the clients Postfix relays for; the default is an address nobody
        # connects from, so the harness on loopback is an outside client
        self.mynetworks = mynetworks
        # where mail for other domains goes: nowhere (error: refused at RCPT;
        # discard: accepted and dropped, never leaving the machine)
        self.outbound = outbound
        self.keep_dir = Path(keep_dir) if keep_dir else None
        self.ipv6 = ipv6_loopback_available() if ipv6 is None else ipv6
        self.port6 = None
        self.instance_dir = None
        self.config_dir = None
        self.maillog = None
        self.check_output = ""
        self.warnings = []
        self.tls = bool(tls)
        if self.tls and not (cert and key):
            raise ValueError("PostfixServer(tls=True) needs cert= and key=")
        self.cert_file = Path(cert) if cert else None
        self.key_file = Path(key) if key else None
        self.ca_file = Path(ca_file) if ca_file else None
        self.implicit_tls = self.tls and implicit_tls
        self.tls_port = None
        self.tls_port6 = None

    @property
    def target6(self):
        return format_target("::1", self.port6) if self.port6 else None

    @property
    def tls_target(self):
        """127.0.0.1:PORT of the implicit-TLS (wrapper mode) listener, or None."""
        return format_target("127.0.0.1", self.tls_port) if self.tls_port else None

    @property
    def tls_target6(self):
        return format_target("::1", self.tls_port6) if self.tls_port6 else None

    def _write_tls_config(self):
        """tls=True: copies the certificate and key into conf/, picks the
        implicit-TLS ports and appends main-tls.cf.in / master-tls.cf.in."""
        cert = self.config_dir / "smtpd-cert.pem"
        key = self.config_dir / "smtpd-key.pem"
        shutil.copyfile(self.cert_file, cert)
        os.chmod(cert, 0o644)
        shutil.copyfile(self.key_file, key)
        os.chmod(key, 0o600)
        smtps = []
        self.tls_port = self.tls_port6 = None
        if self.implicit_tls:
            self.tls_port = free_port("127.0.0.1")
            self.tls_port6 = free_port("::1") if self.port6 else None
            for host, port in (("127.0.0.1", self.tls_port), ("::1", self.tls_port6)):
                if port:
                    smtps.append("%s inet  n       -       n       -       -       smtpd\n"
                                 "  -o smtpd_tls_wrappermode=yes\n"
                                 "  -o smtpd_tls_security_level=encrypt"
                                 % format_target(host, port))
        subst = {"TLS_CERT": str(cert), "TLS_KEY": str(key), "SMTPS_LISTENERS": "\n".join(smtps)}
        for name in ("main", "master"):
            text = (POSTFIX_TEMPLATES / ("%s-tls.cf.in" % name)).read_text()
            for k, value in subst.items():
                text = text.replace("@%s@" % k, value)
            left = re.findall(r"@[A-Z_]+@", text)
            if left:
                raise ServerError("unfilled placeholders %s in %s-tls.cf.in" % (left, name))
            with open(self.config_dir / ("%s.cf" % name), "a") as f:
                f.write("\n" + text)

    def _write_config(self):
        d = self.instance_dir
        listeners = ["%s inet  n       -       n       -       -       smtpd"
                     % format_target("127.0.0.1", self.port)]
        if self.port6:
            listeners.append("%s inet  n       -       n       -       -       smtpd"
                             % format_target("::1", self.port6))
        subst = {
            "CONFIG_DIR": str(self.config_dir),
            "QUEUE_DIR": str(d / "queue"),
            "DATA_DIR": str(d / "data"),
            "MAILLOG": str(self.maillog),
            "INSTANCE_DIR": str(d),
            "MYHOSTNAME": self.hostname,
            "INET_PROTOCOLS": "all" if self.port6 else "ipv4",
            "SMTPD_LISTENERS": "\n".join(listeners),
            "MYNETWORKS": self.mynetworks,
            "OUTBOUND": self.outbound,
        }
        for name in ("main.cf", "master.cf"):
            text = (POSTFIX_TEMPLATES / (name + ".in")).read_text()
            for key, value in subst.items():
                text = text.replace("@%s@" % key, value)
            left = re.findall(r"@[A-Z_]+@", text)
            if left:
                raise ServerError("unfilled placeholders %s in %s.in" % (left, name))
            (self.config_dir / name).write_text(text)
        if self.tls:
            self._write_tls_config()

    def _prepare_dirs(self):
        import pwd
        try:
            pw = pwd.getpwnam("postfix")
        except KeyError:
            raise ServerError("no 'postfix' user: install the postfix package "
                              "(scripts/install-deps.sh test)")
        if os.geteuid() != 0:
            raise ServerError("a private Postfix instance needs root (postfix start)")
        root = postfix_tmp_root()
        sweep_stale_postfix(root)
        self.instance_dir = Path(tempfile.mkdtemp(prefix=INSTANCE_PREFIX, dir=str(root)))
        os.chmod(self.instance_dir, 0o755)
        (self.instance_dir / "owner").write_text(
            "%d %s\n" % (os.getpid(), _proc_starttime(os.getpid())))
        self.config_dir = self.instance_dir / "conf"
        self.config_dir.mkdir(mode=0o755)
        (self.instance_dir / "queue").mkdir(mode=0o755)   # root-owned, like /var/spool/postfix
        data = self.instance_dir / "data"
        data.mkdir(mode=0o700)
        os.chown(data, pw.pw_uid, pw.pw_gid)               # master.lock etc.
        self.maillog = self.instance_dir / "maillog"

    def start(self, attempts=3):
        if shutil.which("postfix", path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
            raise ServerError("postfix is not installed (scripts/install-deps.sh test)")
        t0 = time.monotonic()
        self._prepare_dirs()
        self.running = True
        _register(self)
        try:
            for attempt in range(attempts):
                self.port = free_port("127.0.0.1")
                self.port6 = free_port("::1") if self.ipv6 else None
                self._write_config()
                # `postfix check` creates the queue subdirectories with the
                # owners postfix-files asks for and warns about anything off.
                chk = _postfix_cmd(self.config_dir, "check")
                self.check_output = (chk.stdout + chk.stderr).strip()
                if chk.returncode != 0:
                    raise ServerError("postfix check failed (%d): %s\n--- maillog ---\n%s"
                                      % (chk.returncode, self.check_output, self.log_text()))
                res = _postfix_cmd(self.config_dir, "start")
                if res.returncode == 0:
                    break
                log = self.log_text()
                _kill_instance(self.config_dir, grace=5)
                if "Address already in use" in log and attempt + 1 < attempts:
                    continue  # lost the race for the port: pick another one
                raise ServerError("postfix start failed (%d): %s\n--- maillog ---\n%s"
                                  % (res.returncode, (res.stdout + res.stderr).strip(), log))
            self.greeting = wait_for_greeting("127.0.0.1", self.port, timeout=30)
            if self.port6:
                wait_for_greeting("::1", self.port6, timeout=30)
            for host, port in (("127.0.0.1", self.tls_port), ("::1", self.tls_port6)):
                if port:
                    wait_for_tls_greeting(host, port, timeout=30)
            self.warnings = self.log_warnings()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def log_warnings(self):
        """warning:, error:, fatal: and panic: lines of the maillog."""
        try:
            text = self.maillog.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines()
                if re.search(r"\b(warning|error|fatal|panic): ", line)]

    def master_pid(self):
        try:
            return int((self.instance_dir / "queue" / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError, TypeError):
            return None

    def processes(self):
        return pids_with_env("MAIL_CONFIG", str(self.config_dir)) if self.config_dir else []

    def stop(self):
        """postfix stop; makes sure no process of the instance survives and
        the ports are closed; keeps the logs; removes the instance dir."""
        if self.config_dir is None:
            _unregister(self)
            return
        t0 = time.monotonic()
        killed = _kill_instance(self.config_dir)
        self.stop_seconds = time.monotonic() - t0
        if killed:
            with open(self.maillog, "a") as f:
                f.write("smtpconform-e2e: had to kill %s after postfix stop\n" % killed)
        if self.keep_dir is not None and self.instance_dir.exists():
            try:
                self.keep_dir.mkdir(parents=True, exist_ok=True)
                for src in (self.maillog, self.config_dir / "main.cf",
                            self.config_dir / "master.cf"):
                    if src.exists():
                        shutil.copy(src, self.keep_dir / ("postfix-" + src.name))
            except OSError:
                pass
        if env_flag("SMTPCONFORM_E2E_KEEP"):
            (self.instance_dir / "kept").write_text("SMTPCONFORM_E2E_KEEP\n")
        else:
            shutil.rmtree(self.instance_dir, ignore_errors=True)
        self.running = False
        _unregister(self)

    def log_text(self, lines=200):
        if self.maillog is None:
            return ""
        if self.maillog.exists():
            return tail(self.maillog, lines)
        kept = self.keep_dir / "postfix-maillog" if self.keep_dir else None
        return tail(kept, lines) if kept else ""


# ---------------------------------------------------------------------------
# OpenSMTPD

OPENSMTPD_TEMPLATES = E2E_DIR / "opensmtpd"
OPENSMTPD_INSTANCE_PREFIX = "smtpconform-opensmtpd-"
OPENSMTPD_INSTALL = "scripts/install-third-mta.sh"
# Paths compiled into Debian's smtpd. Each instance runs in a private mount
# namespace with its own directories bind-mounted over them (and over /run,
# for the control socket /var/run/smtpd.sock), so instances never share a
# spool or a socket and nothing outside the instance directory is written.
# The install script creates these (empty) mount points.
OPENSMTPD_MOUNT_POINTS = ("/var/spool/smtpd", "/var/lib/opensmtpd/empty",
                          "/usr/libexec/opensmtpd")
OPENSMTPD_USERS = ("opensmtpd", "opensmtpq")

# Run by /bin/sh inside the new mount namespace: $1 instance dir, $2 prefix.
# resolv.conf first: if /etc/resolv.conf were a symlink into /run, the
# mount over /run would hide its target afterwards.
_OPENSMTPD_NS_SCRIPT = r"""set -e
mount --bind "$1/conf/resolv.conf" /etc/resolv.conf
mount --bind "$1/spool" /var/spool/smtpd
mount --bind "$1/run" /run
mount --bind "$2/usr/libexec/opensmtpd" /usr/libexec/opensmtpd
exec "$2/usr/sbin/smtpd" -d -f "$1/conf/smtpd.conf"
"""


def opensmtpd_prefix():
    """Where scripts/install-third-mta.sh unpacked Debian's opensmtpd .deb
    ($SMTPCONFORM_OPENSMTPD_PREFIX, default build/opensmtpd)."""
    p = os.environ.get("SMTPCONFORM_OPENSMTPD_PREFIX")
    return Path(p) if p else REPO / "build" / "opensmtpd"


def mount_ns_pids(needle):
    """Live processes in a mount namespace other than ours whose mount table
    (/proc/PID/mountinfo) contains NEEDLE (bytes, e.g. b"/DIR/spool
    /var/spool/smtpd "): the processes of one instance run in its own mount
    namespace. (Daemons overwrite their environment and command line with
    setproctitle, so neither identifies them; their mount namespace does.)"""
    try:
        own = os.readlink("/proc/self/ns/mnt")
    except OSError:
        own = None
    ours = {}   # namespace -> does its mount table have the needle?
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            ns = os.readlink("/proc/%d/ns/mnt" % pid)
            if ns == own:
                continue
            if ns not in ours:
                with open("/proc/%d/mountinfo" % pid, "rb") as f:
                    ours[ns] = needle in f.read()
        except OSError:
            continue
        if ours[ns] and not _proc_is_zombie(pid):
            found.append(pid)
    return found


def opensmtpd_pids(instance_dir):
    """Live processes of the OpenSMTPD instance in INSTANCE_DIR: those in a
    mount namespace where INSTANCE_DIR/spool is mounted on /var/spool/smtpd."""
    return mount_ns_pids(("/%s/spool /var/spool/smtpd " % Path(instance_dir).name).encode())


def kill_pids(find, what, grace=10.0):
    """SIGTERM, then SIGKILL, every process FIND() returns, until it returns
    none. Returns the pids that needed SIGKILL; ServerError if some survive
    (WHAT names them)."""
    for pid in find():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and find():
        time.sleep(0.05)
    left = find()
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and find():
        time.sleep(0.05)
    still = find()
    if still:
        raise ServerError("%s processes %s survive SIGKILL" % (what, still))
    return left


def _opensmtpd_kill(instance_dir, grace=10.0):
    """SIGTERM, then SIGKILL, every live process of the instance. Returns
    the pids that needed SIGKILL."""
    return kill_pids(lambda: opensmtpd_pids(instance_dir), "opensmtpd (%s)" % instance_dir, grace)


def sweep_stale_instances(prefix, kill, root=None):
    """Stops (KILL(dir)) and removes the instance directories ROOT/PREFIX*
    whose owning test process is gone (a SIGKILLed run); other live runs'
    instances are left alone. Returns the directories removed."""
    root = Path(root) if root else postfix_tmp_root()
    removed = []
    for d in sorted(root.glob(prefix + "*")):
        if not d.is_dir() or (d / "kept").exists():
            continue
        try:
            pid_s, start_s = (d / "owner").read_text().split()
            alive = _proc_starttime(int(pid_s)) == start_s
        except (OSError, ValueError):
            alive = time.time() - d.stat().st_mtime < 600
        if alive:
            continue
        try:
            kill(d)
        except ServerError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


def sweep_stale_opensmtpd(root=None):
    """Stops and removes OpenSMTPD instance directories whose owning test
    process is gone (SIGKILLed run); other live runs' instances are left
    alone. Returns the directories removed."""
    return sweep_stale_instances(OPENSMTPD_INSTANCE_PREFIX, _opensmtpd_kill, root)


class OpensmtpdServer(Server):
    """A private OpenSMTPD (Debian's opensmtpd .deb, unpacked by
    scripts/install-third-mta.sh) on 127.0.0.1 and [::1] when available.

    `smtpd -d -f CONF` runs in the foreground as root inside
    `unshare --mount`, with the instance's spool/, run/ and resolv.conf
    bind-mounted over the paths compiled into smtpd; it drops privileges to
    the opensmtpd/opensmtpq users itself. keep_dir: where the log and the
    configuration are copied when the instance stops.
    """

    name = "opensmtpd"
    hostname = "opensmtpd.smtpconform.test"

    def __init__(self, keep_dir=None, ipv6=None, prefix=None):
        super().__init__("127.0.0.1")
        self.keep_dir = Path(keep_dir) if keep_dir else None
        self.ipv6 = ipv6_loopback_available() if ipv6 is None else ipv6
        self.prefix = Path(prefix) if prefix else opensmtpd_prefix()
        self.smtpd = self.prefix / "usr" / "sbin" / "smtpd"
        self.port6 = None
        self.instance_dir = None
        self.config_dir = None
        self.log_path = None
        self.proc = None
        self._log = None
        self.version = None
        self.stop_seconds = None

    @property
    def target6(self):
        return format_target("::1", self.port6) if self.port6 else None

    def _check_installed(self):
        import pwd
        hint = "run %s as root (make deps-test)" % OPENSMTPD_INSTALL
        if os.geteuid() != 0:
            raise ServerError("a private OpenSMTPD instance needs root (mount namespace, "
                              "smtpd drops privileges itself)")
        if not os.access(self.smtpd, os.X_OK):
            raise ServerError("%s does not exist: %s" % (self.smtpd, hint))
        for user in OPENSMTPD_USERS:
            try:
                pwd.getpwnam(user)
            except KeyError:
                raise ServerError("no %r user: %s" % (user, hint))
        for d in OPENSMTPD_MOUNT_POINTS:
            if not os.path.isdir(d):
                raise ServerError("mount point %s does not exist: %s" % (d, hint))
        if shutil.which("unshare", path="/usr/bin:/bin") is None:
            raise ServerError("unshare(1) (util-linux) is not installed")
        try:
            self.version = (self.prefix / ".installed").read_text().strip()
        except OSError:
            self.version = None

    def _prepare_dirs(self):
        root = postfix_tmp_root()
        sweep_stale_opensmtpd(root)
        self.instance_dir = Path(tempfile.mkdtemp(prefix=OPENSMTPD_INSTANCE_PREFIX,
                                                  dir=str(root)))
        os.chmod(self.instance_dir, 0o755)
        (self.instance_dir / "owner").write_text(
            "%d %s\n" % (os.getpid(), _proc_starttime(os.getpid())))
        self.config_dir = self.instance_dir / "conf"
        self.config_dir.mkdir(mode=0o755)
        (self.instance_dir / "run").mkdir(mode=0o755)
        self.log_path = self.instance_dir / "smtpd.log"

    def _write_config(self):
        import pwd
        nobody = pwd.getpwnam("nobody")
        listeners = ["listen on 127.0.0.1 port %d hostname %s" % (self.port, self.hostname)]
        if self.port6:
            listeners.append("listen on ::1 port %d hostname %s" % (self.port6, self.hostname))
        subst = {
            "CONFIG_DIR": str(self.config_dir),
            "INSTANCE_DIR": str(self.instance_dir),
            "MYHOSTNAME": self.hostname,
            "LISTENERS": "\n".join(listeners),
            "NOBODY_UID": str(nobody.pw_uid),
            "NOBODY_GID": str(nobody.pw_gid),
        }
        for name in ("smtpd.conf", "domains", "recipients", "userbase", "resolv.conf"):
            src = OPENSMTPD_TEMPLATES / (name + ".in")
            if not src.exists():
                src = OPENSMTPD_TEMPLATES / name
            text = src.read_text()
            for key, value in subst.items():
                text = text.replace("@%s@" % key, value)
            left = re.findall(r"@[A-Z_]+@", text)
            if left:
                raise ServerError("unfilled placeholders %s in %s" % (left, src.name))
            (self.config_dir / name).write_text(text)
        # smtpd insists on a spool directory of mode 0711; a fresh one per
        # attempt, so a failed start leaves nothing behind for the next. Its
        # subdirectories are made here with the owners and modes smtpd
        # gives them: otherwise the parent's purge task may look for purge/
        # before the queue process has created it ("warn: purge_task:
        # opendir: No such file or directory").
        queue_user = pwd.getpwnam("opensmtpq")
        spool = self.instance_dir / "spool"
        shutil.rmtree(spool, ignore_errors=True)
        spool.mkdir()
        os.chmod(spool, 0o711)
        for sub in ("incoming", "purge", "queue", "temporary"):
            (spool / sub).mkdir()
            os.chmod(spool / sub, 0o700)
            os.chown(spool / sub, queue_user.pw_uid, 0)
        (spool / "offline").mkdir()
        os.chmod(spool / "offline", 0o770)
        os.chown(spool / "offline", 0, queue_user.pw_gid)

    def _env(self):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}

    def _config_check(self):
        res = subprocess.run([str(self.smtpd), "-n", "-f", str(self.config_dir / "smtpd.conf")],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             env=self._env(), timeout=30)
        out = (res.stdout + res.stderr).strip()
        if res.returncode != 0 or "configuration OK" not in out:
            raise ServerError("smtpd -n (config check) failed (%d): %s" % (res.returncode, out))

    def start(self, attempts=3):
        t0 = time.monotonic()
        self._check_installed()
        self._prepare_dirs()
        self.running = True
        _register(self)
        try:
            for attempt in range(attempts):
                self.port = free_port("127.0.0.1")
                self.port6 = free_port("::1") if self.ipv6 else None
                self._write_config()
                self._config_check()
                if self._log is None:
                    self._log = open(self.log_path, "ab", buffering=0)
                argv = ["unshare", "--mount", "--propagation", "private", "--",
                        "/bin/sh", "-c", _OPENSMTPD_NS_SCRIPT, "smtpconform-opensmtpd",
                        str(self.instance_dir), str(self.prefix)]
                self._log.write(("$ %s -d -f %s (ports %s, %s)\n"
                                 % (self.smtpd, self.config_dir / "smtpd.conf",
                                    self.port, self.port6)).encode())
                self.proc = subprocess.Popen(
                    argv, cwd="/", stdin=subprocess.DEVNULL, stdout=self._log,
                    stderr=subprocess.STDOUT, env=self._env(), preexec_fn=_set_pdeathsig)
                try:
                    self.greeting = self._wait_for_greeting("127.0.0.1", self.port)
                    if self.port6:
                        self._wait_for_greeting("::1", self.port6)
                    break
                except ServerError as e:
                    self._stop_processes(grace=5)
                    log = self.log_text()
                    if "Address already in use" in log and attempt + 1 < attempts:
                        self._log.write(b"smtpconform-e2e: port taken, retrying\n")
                        continue
                    raise ServerError("%s\n--- opensmtpd log ---\n%s" % (e, log))
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _wait_for_greeting(self, host, port, timeout=30.0):
        """wait_for_greeting() in short rounds, so that a smtpd that exited
        (port taken: "bind: Address already in use") is noticed at once even
        when whatever holds the port accepts connections and says nothing."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return wait_for_greeting(host, port, timeout=2.0, proc=self.proc)
            except ServerError:
                if self.proc.poll() is not None or time.monotonic() >= deadline:
                    raise

    def processes(self):
        if self.instance_dir is None:
            return []
        return opensmtpd_pids(self.instance_dir)

    def log_warnings(self):
        """smtpd's own complaints in its log ("warn: ...", "fatal: ...",
        "smtpd: ..."); session lines (which quote refused commands and
        their replies) do not count."""
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, AttributeError, TypeError):
            return []
        return [line for line in text.splitlines()
                if re.match(r"(warn|fatal|smtpd|unshare|mount): ", line)]

    def _stop_processes(self, grace=10.0):
        """SIGTERM the smtpd parent (it stops its children), wait, then make
        sure no process of the instance survives. Returns SIGKILLed pids."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        killed = _opensmtpd_kill(self.instance_dir, grace=grace)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return killed

    def stop(self):
        """Stops smtpd and its children; keeps the log and the config in
        keep_dir; removes the instance directory. Idempotent."""
        if self.instance_dir is None:
            _unregister(self)
            return
        t0 = time.monotonic()
        killed = self._stop_processes()
        self.stop_seconds = time.monotonic() - t0
        if self._log is not None:
            if killed:
                self._log.write(("smtpconform-e2e: had to kill %s after SIGTERM\n"
                                 % killed).encode())
            self._log.close()
            self._log = None
        if self.keep_dir is not None and self.instance_dir.exists():
            try:
                self.keep_dir.mkdir(parents=True, exist_ok=True)
                for src in [self.log_path] + sorted(self.config_dir.glob("*")):
                    if src.is_file():
                        shutil.copy(src, self.keep_dir / ("opensmtpd-" + src.name))
            except OSError:
                pass
        if self.instance_dir.exists():
            if env_flag("SMTPCONFORM_E2E_KEEP"):
                (self.instance_dir / "kept").write_text("SMTPCONFORM_E2E_KEEP\n")
            else:
                shutil.rmtree(self.instance_dir, ignore_errors=True)
        self.running = False
        _unregister(self)

    def log_text(self, lines=200):
        if self.log_path is None:
            return ""
        if self.log_path.exists():
            return tail(self.log_path, lines)
        kept = self.keep_dir / "opensmtpd-smtpd.log" if self.keep_dir else None
        return tail(kept, lines) if kept and kept.exists() else ""


# ---------------------------------------------------------------------------
# running smtpconform


class HarnessResult:
    def __init__(self, argv, returncode, stdout, stderr, elapsed, report=None):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.report = report      # parsed JSON report, when asked for one

    def describe(self, limit=6000):
        def cut(s):
            return s if len(s) <= limit else s[:limit] + "\n... (%d chars cut)" % (len(s) - limit)
        return ("$ %s\nexit %s after %.2fs\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.argv), self.returncode, self.elapsed,
                   cut(self.stdout), cut(self.stderr)))


def sanitizer_findings(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def run_harness(args, timeout=300, check_sanitizers=True, json_report=None, env=None):
    """Runs `smtpconform ARGS...` from the repository root.

    Fails the calling test (pytest.fail) when the binary is missing, when it
    hangs past TIMEOUT seconds (times slowdown()), when valgrind reports
    errors (exit 99) or when sanitizer output shows up on stderr.
    With json_report=PATH, `--report json:PATH` is appended and the parsed
    report is returned in .report (None if it was not written)."""
    import pytest

    exe = binary_path("smtpconform")
    if not exe.exists():
        pytest.fail("%s does not exist: the harness has not been built (run `make` or "
                    "set SMTPCONFORM_BUILD to its directory)" % exe, pytrace=False)
    argv = [str(exe)] + [str(a) for a in args]
    if json_report is not None:
        Path(json_report).unlink(missing_ok=True)
        argv += ["--report", "json:%s" % json_report]
    cmd = argv
    if under_valgrind():
        cmd = ["valgrind", "--error-exitcode=%d" % VALGRIND_EXIT, "--leak-check=full",
               "--errors-for-leak-kinds=definite", "-q"] + argv
    run_env = dict(os.environ)
    if env:
        run_env.update(env)
    limit = timeout * slowdown()
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=str(REPO), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=limit, env=run_env)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        pytest.fail("smtpconform hung: killed after %.0fs\n$ %s\n--- stdout ---\n%s\n"
                    "--- stderr ---\n%s" % (limit, " ".join(cmd), out[-4000:], err[-4000:]),
                    pytrace=False)
    elapsed = time.monotonic() - t0
    res = HarnessResult(cmd, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                        proc.stderr.decode("utf-8", "replace"), elapsed)
    if under_valgrind() and res.returncode == VALGRIND_EXIT:
        pytest.fail("valgrind reported errors (exit %d)\n%s"
                    % (VALGRIND_EXIT, res.describe()), pytrace=False)
    if check_sanitizers:
        found = sanitizer_findings(res.stderr)
        if found:
            pytest.fail("sanitizer output %s on stderr\n%s" % (found, res.describe()),
                        pytrace=False)
    if json_report is not None:
        try:
            with open(json_report, encoding="utf-8") as f:
                res.report = json.load(f)
        except FileNotFoundError:
            res.report = None
        except ValueError as e:
            pytest.fail("JSON report %s is not valid JSON: %s\n%s"
                        % (json_report, e, res.describe()), pytrace=False)
    return res


# ---------------------------------------------------------------------------
# reading JSON reports


def scenario_transcript(sc, limit=3000):
    t = sc.get("transcript") or ""
    if len(t) > limit:
        t = t[:limit] + "\n... (%d chars cut)" % (len(t) - limit)
    return t


def describe_scenarios(report, ids=None):
    """Human-readable verdict, reason, violations and transcript of the
    scenarios (all failing/erroring ones when ids is None)."""
    out = []
    for sc in report.get("scenarios", []):
        if ids is None and sc.get("verdict") not in ("fail", "error"):
            continue
        if ids is not None and sc.get("id") not in ids:
            continue
        out.append("=== %s (%s) %s: %s" % (sc.get("id"), sc.get("file"),
                                          sc.get("verdict"), sc.get("reason") or ""))
        for st in sc.get("steps", []):
            for v in st.get("violations") or []:
                out.append("  line %s %s: [%s/%s] %s (%s)"
                           % (st.get("line"), st.get("command"), v.get("rule"),
                              v.get("severity"), v.get("message"), v.get("ref")))
        out.append(scenario_transcript(sc))
    return "\n".join(out)


def violations(report):
    """Yields (scenario, step, violation) for every violation in a report."""
    for sc in report.get("scenarios", []):
        for st in sc.get("steps") or []:
            for v in st.get("violations") or []:
                yield sc, st, v
