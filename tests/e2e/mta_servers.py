"""mta_servers.py - the five further real SMTP servers of the end-to-end
tests: Exim, Sendmail, Dovecot's submission service, Haraka and qpsmtpd.

Owns: starting and stopping private instances of them, their generated
configuration (templates in exim/, sendmail/, dovecot/, haraka/config/;
qpsmtpd's few files are written here).
Does not own: installing them (scripts/install-mtas.sh), the Postfix
instance Dovecot relays to (servers.PostfixServer), running the harness
(servers.run_harness).

Every instance is a tree /tmp/smtpconform-NAME-XXXXXXXX/ ($SMTPCONFORM_E2E_TMP)
with an `owner` file (pid and start time of the test process, as for
Postfix), conf/ (generated configuration, resolv.conf, hosts) and the
server's log, spool and run directories. The server runs as root in its own
mount and UTS namespaces (`unshare --mount --uts`): conf/resolv.conf
(nameserver 127.0.0.1, so no DNS query leaves the machine) and conf/hosts
are bind-mounted over /etc/resolv.conf and /etc/hosts, and the host name is
the instance's (Sendmail insists on a qualified own name). Its processes are
found by that mount (instance_pids()), stopped with SIGTERM then SIGKILL,
and the instance directory is removed after the log and configuration are
copied to keep_dir. One listener each, on 127.0.0.1:PORT (PORT picked at
run time; a lost race for it is retried with another).

  EximServer      Debian's exim4-daemon-light, unpacked into build/exim:
                  `exim4 -C CONF -bdf -oX PORT`.
  SendmailServer  Debian's sendmail-bin/-cf, unpacked into build/sendmail:
                  sendmail.cf made with m4 from sendmail/sendmail.mc.in,
                  `sendmail -C CF -bD`.
  DovecotServer   Debian's dovecot-core + dovecot-submissiond:
                  `dovecot -F -c CONF`; AUTH PLAIN/LOGIN for .auth_user,
                  relays to a PostfixServer given as relay=.
  HarakaServer    Haraka from npm (build/haraka, pinned by
                  haraka/package-lock.json): `haraka -c DIR`.
  QpsmtpdServer   Debian's qpsmtpd 0.94, unpacked into build/qpsmtpd:
                  `perl -T -I PERL5 qpsmtpd-forkserver -l 127.0.0.1 -p PORT
                  -H -u qpsmtpd`, QPSMTPD_CONFIG=conf/.
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import servers
from servers import E2E_DIR, REPO, ServerError

INSTANCE_PREFIX = "smtpconform-%s-"
INSTALL = "scripts/install-mtas.sh"
INSTALL_HINT = "run %s as root (make deps-test)" % INSTALL

# Run by /bin/sh inside the new mount and UTS namespaces:
# $1 instance dir, $2 host name, then the server's argv.
_NS_SCRIPT = r"""set -e
mount --bind "$1/conf/resolv.conf" /etc/resolv.conf
mount --bind "$1/conf/hosts" /etc/hosts
hostname "$2"
shift 2
exec "$@"
"""

RESOLV_CONF = ("# /etc/resolv.conf inside an e2e server's mount namespace: no DNS\n"
               "# query leaves the machine (nothing answers on 127.0.0.1:53).\n"
               "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")


def prefix(name, default):
    """Where scripts/install-mtas.sh put a server ($SMTPCONFORM_NAME_PREFIX,
    default build/DEFAULT)."""
    p = os.environ.get("SMTPCONFORM_%s_PREFIX" % name.upper())
    return Path(p) if p else REPO / "build" / default


def instance_pids(instance_dir):
    """Live processes of the instance in INSTANCE_DIR: those in a mount
    namespace where its conf/resolv.conf is mounted on /etc/resolv.conf."""
    return servers.mount_ns_pids(
        ("/%s/conf/resolv.conf /etc/resolv.conf " % Path(instance_dir).name).encode())


def kill_instance(instance_dir, grace=10.0):
    """SIGTERM, then SIGKILL, every live process of the instance. Returns
    the pids that needed SIGKILL."""
    return servers.kill_pids(lambda: instance_pids(instance_dir), str(instance_dir), grace)


def sweep_stale(name, root=None):
    """Stops and removes NAME instance directories whose owning test
    process is gone (a SIGKILLed run). Returns the directories removed."""
    return servers.sweep_stale_instances(INSTANCE_PREFIX % name, kill_instance, root)


def fill(template, subst, dest):
    """Writes TEMPLATE with @KEY@ replaced from SUBST to DEST."""
    text = Path(template).read_text()
    for key, value in subst.items():
        text = text.replace("@%s@" % key, str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ServerError("unfilled placeholders %s in %s" % (left, template))
    Path(dest).write_text(text)


class NamespaceServer(servers.Server):
    """A private instance run as root in its own mount and UTS namespaces
    (see the module docstring). Subclasses set name, hostname, and define
    _check_installed(), _write_config() and _argv()."""

    hostname = None
    start_timeout = 30.0
    # smtpconform run: --timeout of the full suite, extra arguments.
    suite_timeout = None
    env_extra = {}

    def __init__(self, keep_dir=None):
        super().__init__("127.0.0.1")
        self.keep_dir = Path(keep_dir) if keep_dir else None
        self.instance_dir = None
        self.config_dir = None
        self.log_path = None
        self.proc = None
        self._log = None
        self.version = None
        self.stop_seconds = None

    @property
    def domain(self):
        """The domain the suite runs with (--var domain=)."""
        return self.hostname

    @property
    def auth_env(self):
        return {}

    def suite_extra_args(self):
        return []

    # -- to define
    def _check_installed(self):
        raise NotImplementedError

    def _write_config(self):
        raise NotImplementedError

    def _argv(self):
        raise NotImplementedError

    def log_files(self):
        """The logs to show and keep (the first is the main one)."""
        return [self.log_path]

    # -- common
    def _require_root(self):
        if os.geteuid() != 0:
            raise ServerError("a private %s instance needs root (mount namespace)" % self.name)
        if shutil.which("unshare", path="/usr/bin:/bin") is None:
            raise ServerError("unshare(1) (util-linux) is not installed")

    def _read_version(self, path):
        try:
            return " ".join(Path(path).read_text().split("\n")[0].split()) or None
        except OSError:
            return None

    def _prepare_dirs(self):
        root = servers.postfix_tmp_root()
        sweep_stale(self.name, root)
        self.instance_dir = Path(tempfile.mkdtemp(prefix=INSTANCE_PREFIX % self.name,
                                                  dir=str(root)))
        os.chmod(self.instance_dir, 0o755)
        (self.instance_dir / "owner").write_text(
            "%d %s\n" % (os.getpid(), servers._proc_starttime(os.getpid())))
        self.config_dir = self.instance_dir / "conf"
        self.config_dir.mkdir(mode=0o755)
        (self.config_dir / "resolv.conf").write_text(RESOLV_CONF)
        (self.config_dir / "hosts").write_text(self.hosts_text())
        self.log_path = self.instance_dir / ("%s.log" % self.name)

    def ns_argv(self, argv):
        """ARGV run inside the instance's namespaces (_NS_SCRIPT)."""
        return (["unshare", "--mount", "--uts", "--propagation", "private", "--",
                 "/bin/sh", "-c", _NS_SCRIPT, "smtpconform-" + self.name,
                 str(self.instance_dir), self.hostname] + [str(a) for a in argv])

    def hosts_text(self):
        """/etc/hosts inside the namespace."""
        return "127.0.0.1\t%s localhost\n::1\tlocalhost ip6-localhost\n" % self.hostname

    def _env(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        env.update(self.env_extra)
        return env

    def start(self, attempts=3):
        t0 = time.monotonic()
        self._require_root()
        self._check_installed()
        self._prepare_dirs()
        self.running = True
        servers._register(self)
        try:
            for attempt in range(attempts):
                self.port = servers.free_port("127.0.0.1")
                self._write_config()
                if self._log is None:
                    self._log = open(self.log_path, "ab", buffering=0)
                argv = self.ns_argv(self._argv())
                self._log.write(("$ %s (port %s)\n" % (" ".join(map(str, self._argv())),
                                                        self.port)).encode())
                self.proc = subprocess.Popen(
                    argv, cwd=str(self.instance_dir), stdin=subprocess.DEVNULL,
                    stdout=self._log, stderr=subprocess.STDOUT, env=self._env(),
                    preexec_fn=servers._set_pdeathsig)
                try:
                    self.greeting = self._wait_for_greeting()
                    break
                except ServerError as e:
                    self._stop_processes(grace=5)
                    log = self.log_text()
                    if "in use" in log and attempt + 1 < attempts:
                        self._log.write(b"smtpconform-e2e: port taken, retrying\n")
                        continue
                    raise ServerError("%s\n--- %s log ---\n%s" % (e, self.name, log))
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _wait_for_greeting(self):
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                return servers.wait_for_greeting("127.0.0.1", self.port, timeout=2.0,
                                                 proc=self.proc)
            except ServerError:
                if self.proc.poll() is not None or time.monotonic() >= deadline:
                    raise

    def processes(self):
        if self.instance_dir is None:
            return []
        return instance_pids(self.instance_dir)

    def _stop_processes(self, grace=10.0):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        killed = kill_instance(self.instance_dir, grace=grace)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return killed

    def stop(self):
        """Stops the instance's processes; keeps its logs and configuration
        in keep_dir; removes the instance directory. Idempotent."""
        if self.instance_dir is None:
            servers._unregister(self)
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
                for src in self.log_files() + sorted(self.config_dir.glob("*")):
                    if src.is_file():
                        shutil.copy(src, self.keep_dir / ("%s-%s" % (self.name, src.name)))
            except OSError:
                pass
        if self.instance_dir.exists():
            if servers.env_flag("SMTPCONFORM_E2E_KEEP"):
                (self.instance_dir / "kept").write_text("SMTPCONFORM_E2E_KEEP\n")
            else:
                shutil.rmtree(self.instance_dir, ignore_errors=True)
        self.running = False
        servers._unregister(self)

    def log_text(self, lines=200):
        out = []
        for path in self.log_files():
            if path is None:
                continue
            if not path.exists() and self.keep_dir is not None:
                path = self.keep_dir / ("%s-%s" % (self.name, path.name))
            if path.exists():
                out.append(servers.tail(path, lines))
        return "\n".join(out)


# ---------------------------------------------------------------------------
# Exim


class EximServer(NamespaceServer):
    """Exim 4.96 (exim4-daemon-light) from build/exim, configured by
    exim/exim.conf.in: local domains localhost and exim.smtpconform.test,
    recipients postmaster, root and conform (a :blackhole: router), every
    other recipient refused (550 unknown user / relay not permitted).
    STARTTLS with the self-signed certificate Exim makes when none is
    configured (not trusted by the harness: tls.certificate-untrusted); VRFY
    and EXPN as Exim's defaults (no ACL for them: refused)."""

    name = "exim"
    hostname = "exim.smtpconform.test"

    def __init__(self, keep_dir=None, prefix_dir=None):
        super().__init__(keep_dir)
        self.prefix = Path(prefix_dir) if prefix_dir else prefix("exim", "exim")
        self.exim = self.prefix / "usr" / "sbin" / "exim4"

    def _check_installed(self):
        import pwd
        if not os.access(self.exim, os.X_OK):
            raise ServerError("%s does not exist: %s" % (self.exim, INSTALL_HINT))
        try:
            pwd.getpwnam("Debian-exim")
        except KeyError:
            raise ServerError("no 'Debian-exim' user: %s" % INSTALL_HINT)
        self.version = self._read_version(self.prefix / ".installed")

    def _write_config(self):
        import pwd
        pw = pwd.getpwnam("Debian-exim")
        for sub in ("spool", "log"):
            d = self.instance_dir / sub
            d.mkdir(exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
        fill(E2E_DIR / "exim" / "exim.conf.in",
             {"EXIM": self.exim, "MYHOSTNAME": self.hostname,
              "INSTANCE_DIR": self.instance_dir}, self.config_dir / "exim.conf")

    def _argv(self):
        return [self.exim, "-C", self.config_dir / "exim.conf", "-bdf", "-oX", str(self.port)]

    def log_files(self):
        return [self.log_path, self.instance_dir / "log" / "mainlog",
                self.instance_dir / "log" / "paniclog"]


# ---------------------------------------------------------------------------
# Sendmail


# Sendmail's Relay_ok ruleset (cf/m4/proto.m4) relays for any client whose
# address is 127.0.0.1 or ::1 ("originated locally"), and the harness
# connects from 127.0.0.1. As the Postfix instance does with mynetworks, the
# test makes loopback an outside client: these lines are dropped from the
# generated sendmail.cf (mail submitted on the command line, with an empty
# client address, still counts as local).
_SENDMAIL_LOOPBACK_RELAY = re.compile(
    r"^R(127\.0\.0\.1|IPv6:0:0:0:0:0:0:0:1|IPv6:::1)\t+\$@ RELAY\t+originated locally\n",
    re.M)


def outside_loopback(cf):
    """sendmail.cf text CF without the loopback "originated locally" relay
    rules; fails if they are not found (another sendmail-cf version)."""
    out, n = _SENDMAIL_LOOPBACK_RELAY.subn("", cf)
    if n < 2:
        raise ServerError("sendmail.cf: the loopback relay rules of Relay_ok were not found "
                          "(%d removed)" % n)
    return out


class SendmailServer(NamespaceServer):
    """Sendmail 8.17 (sendmail-bin) from build/sendmail, sendmail.cf made
    with m4 from sendmail/sendmail.mc.in: one listener (127.0.0.1:PORT,
    no MSA port), local domains localhost and sendmail.smtpconform.test
    (every local user and the aliases postmaster and conform), relaying
    refused, nothing delivered (local mailer /bin/true). Sendmail logs to
    syslog only; there is none here, so its log is what it prints."""

    name = "sendmail"
    hostname = "sendmail.smtpconform.test"
    # Sendmail sleeps before some refusals on purpose (after repeated bad
    # commands, bad recipients): give the whole suite room for that.
    suite_timeout = 15

    def __init__(self, keep_dir=None, prefix_dir=None):
        super().__init__(keep_dir)
        self.prefix = Path(prefix_dir) if prefix_dir else prefix("sendmail", "sendmail")
        self.sendmail = self.prefix / "usr" / "libexec" / "sendmail" / "sendmail"
        self.cf_dir = self.prefix / "usr" / "share" / "sendmail" / "cf"

    def _check_installed(self):
        if not os.access(self.sendmail, os.X_OK):
            raise ServerError("%s does not exist: %s" % (self.sendmail, INSTALL_HINT))
        if shutil.which("m4", path="/usr/bin:/bin") is None:
            raise ServerError("m4 is not installed: %s" % INSTALL_HINT)
        self.version = self._read_version(self.prefix / ".installed")

    def _write_config(self):
        c = self.config_dir
        queue = self.instance_dir / "queue"
        queue.mkdir(mode=0o700, exist_ok=True)
        (c / "local-host-names").write_text("%s\nlocalhost\n" % self.hostname)
        for name in ("trusted-users", "relay-domains"):
            (c / name).write_text("")
        (c / "service.switch").write_text("hosts files\naliases files\n")
        (c / "aliases").write_text("postmaster: root\nconform: root\n")
        fill(E2E_DIR / "sendmail" / "sendmail.mc.in",
             {"MYHOSTNAME": self.hostname, "INSTANCE_DIR": self.instance_dir,
              "CONFIG_DIR": c, "PREFIX": self.prefix, "PORT": self.port}, c / "sendmail.mc")
        res = subprocess.run(["m4", "-D_CF_DIR_=%s/" % self.cf_dir, self.cf_dir / "m4" / "cf.m4",
                              c / "sendmail.mc"], capture_output=True, text=True, timeout=60)
        if res.returncode != 0 or res.stderr.strip():
            raise ServerError("m4 sendmail.mc failed (%d): %s" % (res.returncode, res.stderr))
        (c / "sendmail.cf").write_text(outside_loopback(res.stdout))
        # newaliases; in the namespace, where the host name is qualified
        # (outside, sendmail would look its own name up and wait).
        res = subprocess.run(self.ns_argv([self.sendmail, "-C", c / "sendmail.cf", "-bi"]),
                             capture_output=True, text=True, timeout=60, env=self._env())
        if res.returncode != 0:
            raise ServerError("sendmail -bi (newaliases) failed (%d): %s"
                              % (res.returncode, res.stdout + res.stderr))

    def hosts_text(self):
        """Sendmail relays for a client whose name or [address] is in its
        class w (its own names and addresses): here 127.0.0.1, the
        harness' address, is named outside-client.smtpconform.test and
        the server's own name is on 127.0.0.2, so the harness is an outside
        client."""
        return ("127.0.0.1\toutside-client.smtpconform.test\n"
                "127.0.0.2\t%s\n" % self.hostname)

    def _argv(self):
        return [self.sendmail, "-C", self.config_dir / "sendmail.cf", "-bD"]


# ---------------------------------------------------------------------------
# Dovecot submission

AUTH_PASSWORD_ENV = servers.AUTH_PASSWORD_ENV


class DovecotServer(NamespaceServer):
    """Dovecot's submission service (dovecot-submissiond), configured by
    dovecot/dovecot.conf.in: AUTH PLAIN and LOGIN without TLS for one
    passwd-file user, .auth_user ("conform") / .auth_password; mail is
    relayed to RELAY (a started PostfixServer), so the suite runs with
    Postfix's domain. The harness needs .suite_extra_args() (--auth-user,
    --auth-password-env) and .auth_env."""

    name = "dovecot"
    hostname = "dovecot.smtpconform.test"

    def __init__(self, relay, keep_dir=None, auth_user="conform", auth_password=None):
        super().__init__(keep_dir)
        self.relay = relay
        self.auth_user = auth_user
        self.auth_password = (auth_password or os.environ.get(AUTH_PASSWORD_ENV)
                              or secrets.token_urlsafe(18))

    @property
    def domain(self):
        return self.relay.hostname

    @property
    def auth_env(self):
        return {AUTH_PASSWORD_ENV: self.auth_password}

    def suite_extra_args(self):
        return ["--auth-user", self.auth_user, "--auth-password-env", AUTH_PASSWORD_ENV]

    def _check_installed(self):
        import pwd
        if shutil.which("dovecot", path="/usr/sbin:/usr/bin") is None:
            raise ServerError("dovecot is not installed: %s" % INSTALL_HINT)
        if not Path("/usr/lib/dovecot/submission").exists():
            raise ServerError("dovecot-submissiond is not installed: %s" % INSTALL_HINT)
        for user in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(user)
            except KeyError:
                raise ServerError("no %r user (dovecot-core): %s" % (user, INSTALL_HINT))
        if self.relay is None or not self.relay.running:
            raise ServerError("Dovecot's submission service needs a running relay (Postfix)")
        res = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                              "dovecot-submissiond"], capture_output=True, text=True, timeout=30)
        self.version = res.stdout.strip() or None

    def _write_config(self):
        import pwd
        for sub in ("run", "state", "home"):
            (self.instance_dir / sub).mkdir(mode=0o755, exist_ok=True)
        # The submission process runs as the userdb's user (nobody).
        nobody = pwd.getpwnam("nobody")
        os.chown(self.instance_dir / "home", nobody.pw_uid, nobody.pw_gid)
        passwd = self.config_dir / "passwd"
        passwd.write_text("%s:{PLAIN}%s\n" % (self.auth_user, self.auth_password))
        os.chown(passwd, 0, pwd.getpwnam("dovecot").pw_gid)
        os.chmod(passwd, 0o640)
        fill(E2E_DIR / "dovecot" / "dovecot.conf.in",
             {"INSTANCE_DIR": self.instance_dir, "CONFIG_DIR": self.config_dir,
              "MYHOSTNAME": self.hostname, "PORT": self.port,
              "RELAY_PORT": self.relay.port}, self.config_dir / "dovecot.conf")

    def _argv(self):
        return ["/usr/sbin/dovecot", "-F", "-c", self.config_dir / "dovecot.conf"]


# ---------------------------------------------------------------------------
# Haraka


class HarakaServer(NamespaceServer):
    """Haraka (npm, build/haraka, version pinned by haraka/package-lock.json)
    with its default configuration copied into the instance and
    haraka/config/ over it: plugins rcpt_to.in_host_list (host_list:
    localhost, haraka.smtpconform.test) and queue/discard
    (YES_REALLY_DO_DISCARD=1). No cluster (nodes=0), no TLS, no AUTH."""

    name = "haraka"
    hostname = "haraka.smtpconform.test"
    env_extra = {"YES_REALLY_DO_DISCARD": "1"}

    def __init__(self, keep_dir=None, prefix_dir=None):
        super().__init__(keep_dir)
        self.prefix = Path(prefix_dir) if prefix_dir else prefix("haraka", "haraka")
        self.haraka = self.prefix / "node_modules" / ".bin" / "haraka"

    def _check_installed(self):
        if not os.access(self.haraka, os.X_OK):
            raise ServerError("%s does not exist: %s" % (self.haraka, INSTALL_HINT))
        if shutil.which("node", path="/usr/local/bin:/usr/bin:/bin") is None:
            raise ServerError("node is not installed: %s" % INSTALL_HINT)
        self.version = self._read_version(self.prefix / ".installed")

    def _env(self):
        env = super()._env()
        env["PATH"] = "/usr/local/bin:" + env["PATH"]
        return env

    def _write_config(self):
        cfg = self.instance_dir / "config"
        if not cfg.exists():
            shutil.copytree(self.prefix / "node_modules" / "Haraka" / "config", cfg)
        subst = {"PORT": self.port, "MYHOSTNAME": self.hostname}
        for src in sorted((E2E_DIR / "haraka" / "config").iterdir()):
            if src.suffix == ".in":
                fill(src, subst, cfg / src.stem)
            else:
                shutil.copyfile(src, cfg / src.name)
        # What the configuration is, for the record (keep_dir).
        for name in ("smtp.ini", "plugins", "host_list", "me"):
            shutil.copyfile(cfg / name, self.config_dir / ("haraka-" + name))

    def _argv(self):
        return [self.haraka, "-c", self.instance_dir]


# ---------------------------------------------------------------------------
# qpsmtpd

# conf/plugins of the qpsmtpd instance: accept the recipients of rcpthosts
# (rcpt_ok) and deliver into a private maildir. No plugin that looks
# anything up on the network (dnsbl, rhsbl, spf, resolvable_fromhost,
# fcrdns...): the instance sends nothing anywhere.
QPSMTPD_PLUGINS = "rcpt_ok\nqueue/maildir %s\n"
# Connections at once, in all and from one address (the defaults, 15 and 5,
# are less than one harness run with -j 8 opens from 127.0.0.1).
QPSMTPD_MAX_CONN = 64


class QpsmtpdServer(NamespaceServer):
    """qpsmtpd 0.94 (Debian's package, Perl) from build/qpsmtpd, its
    qpsmtpd-forkserver on 127.0.0.1:PORT without reverse DNS (-H), run as
    root in the namespaces, dropping privileges to the `qpsmtpd` user.
    Configuration in conf/ (QPSMTPD_CONFIG; QMAIL points into the instance
    so that no file of /var/qmail/control is read): me and rcpthosts the
    served domain (qpsmtpd.smtpconform.test), plugins rcpt_ok and
    queue/maildir (instance's maildir/), plugin_dirs the unpacked
    usr/share/qpsmtpd/plugins, spool_dir the instance's spool/ (0700,
    owned by qpsmtpd), loglevel 6 (to stderr, the instance's log). No TLS,
    no AUTH. The script runs with -T (taint mode, its #! line), where
    PERL5LIB is ignored: the unpacked usr/share/perl5 is given with -I.
    -H (no reverse DNS) is parsed but not used by 0.94's forkserver (its
    $NORDNS goes nowhere): each connection's child looks up the PTR of
    127.0.0.1 from the namespace's nameserver 127.0.0.1, where nothing
    answers, so every greeting comes about 1 s late (resolv.conf timeout:1)
    and nothing leaves the machine."""

    name = "qpsmtpd"
    hostname = "qpsmtpd.smtpconform.test"
    user = "qpsmtpd"

    def __init__(self, keep_dir=None, prefix_dir=None):
        super().__init__(keep_dir)
        self.prefix = Path(prefix_dir) if prefix_dir else prefix("qpsmtpd", "qpsmtpd")
        self.forkserver = self.prefix / "usr" / "bin" / "qpsmtpd-forkserver"
        self.perl5 = self.prefix / "usr" / "share" / "perl5"
        self.plugin_dir = self.prefix / "usr" / "share" / "qpsmtpd" / "plugins"

    def _check_installed(self):
        import pwd
        if not self.forkserver.is_file() or not self.plugin_dir.is_dir():
            raise ServerError("%s does not exist: %s" % (self.forkserver, INSTALL_HINT))
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            raise ServerError("no %r user: %s" % (self.user, INSTALL_HINT))
        self.version = self._read_version(self.prefix / ".installed")

    @property
    def env_extra(self):
        return {"QPSMTPD_CONFIG": str(self.config_dir),
                "QMAIL": str(self.instance_dir / "no-qmail")}

    def _write_config(self):
        import pwd
        pw = pwd.getpwnam(self.user)
        # run/: the pid file (written as root, removed after the privileges
        # are dropped)
        for sub in ("spool", "maildir", "run"):
            d = self.instance_dir / sub
            d.mkdir(mode=0o700, exist_ok=True)
            os.chmod(d, 0o700)
            os.chown(d, pw.pw_uid, pw.pw_gid)
        c = self.config_dir
        files = {"me": self.hostname, "rcpthosts": self.hostname,
                 "plugins": QPSMTPD_PLUGINS % (self.instance_dir / "maildir"),
                 "plugin_dirs": str(self.plugin_dir),
                 "spool_dir": str(self.instance_dir / "spool"), "loglevel": "6"}
        for name, text in files.items():
            (c / name).write_text(text if text.endswith("\n") else text + "\n")

    def _argv(self):
        return ["/usr/bin/perl", "-Tw", "-I", self.perl5, self.forkserver,
                "-l", "127.0.0.1", "-p", str(self.port), "-H", "-u", self.user,
                "-c", str(QPSMTPD_MAX_CONN), "-m", str(QPSMTPD_MAX_CONN),
                "--pid-file", self.instance_dir / "run" / "qpsmtpd.pid"]
