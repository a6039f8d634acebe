#!/usr/bin/env python3
"""selftest.py - the mutation self-test: what the bundled suite catches.

1. The reference: build/smtpfixture without a behaviour table must pass
   every bundled scenario (skips are listed, failures and errors fail).
2. Every mutant of build/mutants/manifest.tsv (fixtures/gen_mutants.py)
   runs on its own smtpfixture (127.0.0.1, port 0), with only the scenarios
   that exercise the mutated command, several mutants at once. A mutant is
   killed when some scenario fails with a step (on the mutated command)
   carrying a violation named in the manifest's `expect` column; a control
   (`expect` = pass) must pass. A mutant listed in
   fixtures/mutants/equivalent.tsv is still run: it must survive (a listed
   mutant that is killed is stale and fails the run).
3. Prints the score per family, every survivor with the scenarios that
   should have caught it, the equivalent mutants with their reasons and the
   wall time; writes a JSON summary (--summary).

Exit status: 0 when the reference passes, every non-equivalent mutant is
killed, every control passes and equivalent.tsv is accurate; 1 otherwise;
2 on a usage or setup error. docs/selftest.md has the details.

Standard library only (/usr/bin/python3 or any python3 >= 3.9).
"""

import argparse
import concurrent.futures
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "fixtures"))

import gen_mutants  # noqa: E402
import matrix_tsv  # noqa: E402

EQUIVALENT = os.path.join(ROOT, "fixtures", "mutants", "equivalent.tsv")
FAMILIES = gen_mutants.FAMILIES
# Kinds whose detection waits for the harness's deadline: started first so
# that they overlap with the quick ones.
# Rules mutants that are run with --tls-verify require and the runner's
# certificate as --ca-file; the value is the certificate the fixture presents
# ("untrusted": a second self-signed one the CA file does not hold).
VERIFY_KINDS = {"certificate-untrusted": "untrusted", "certificate-trusted": "trusted"}
# Rules mutants that run one scenario of their own instead of the suite's
# scenarios for their command (a scenario the conformance suite has no use for).
SCENARIO_KINDS = {"regex-limit": "tests/selftest/scenarios/regex-limit.smtp",
                  "regex-limit-control": "tests/selftest/scenarios/regex-limit.smtp"}
TLS_NAME = "fixture.smtpconform.test"
SLOW_KINDS = {"drip", "delayed", "silent", "dash-last", "bare-cr-eol", "no-greeting",
              "no-close", "after-quit", "tls-stall"}
TLS_AUTH_FAMILIES = set(gen_mutants.TLS_AUTH_FAMILIES)
# The account of the TLS/AUTH configuration: smtpfixture --auth-user and
# smtpconform --auth-user, the password in both environments (never argv).
AUTH_USER = "conform"
AUTH_PASSWORD = "selftest-Pa55word"
READY_TIMEOUT = 10.0
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
DEFAULTS = {"timeout": gen_mutants.DEFAULT_TIMEOUT, "profile": "rfc5321", "scenarios": "scenarios"}
FIRST_WAVE = 3          # scenarios tried first per mutant (see SelfTest.judge)


class SetupError(Exception):
    pass


# --------------------------------------------------------------- equivalents

def read_equivalent(path):
    """{mutant id: reason} from the reviewed list (id TAB reason; '#' comments)."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t", 1)
            if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
                raise SetupError("%s:%d: expected 'mutant-id<TAB>reason'" % (path, lineno))
            mid = parts[0].strip()
            if mid in out:
                raise SetupError("%s:%d: %s listed twice" % (path, lineno, mid))
            out[mid] = parts[1].strip()
    return out


# --------------------------------------------------------------- processes

# Every fixture server still running, so that an interrupted run stops them.
_LIVE = set()
_LIVE_LOCK = threading.Lock()
# util-linux setpriv: the server gets SIGTERM if the thread that started it
# dies (a runner killed with SIGKILL leaves no server behind).
_SETPRIV = shutil.which("setpriv")


_STOPPING = threading.Event()


def stop_all_fixtures():
    _STOPPING.set()
    with _LIVE_LOCK:
        live = list(_LIVE)
    for fx in live:
        fx.stop()


class Fixture:
    """One smtpfixture on 127.0.0.1, port 0; always stopped by stop()."""

    def __init__(self, binary, behaviour=None, tls=None):
        """tls: None, or (cert file, key file): TLS and AUTH on."""
        argv = [binary, "--listen", "127.0.0.1:0", "--quiet"]
        if behaviour:
            argv += ["--behaviour", behaviour]
        env = None
        if tls:
            argv += ["--tls-cert", tls[0], "--tls-key", tls[1], "--auth-user", AUTH_USER]
            env = dict(os.environ, SMTPCONFORM_PASSWORD=AUTH_PASSWORD)
        self.argv = argv
        if _STOPPING.is_set():
            raise SetupError("interrupted")
        launch = [_SETPRIV, "--pdeathsig", "TERM", "--"] + argv if _SETPRIV else argv
        self.proc = subprocess.Popen(launch, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        with _LIVE_LOCK:
            _LIVE.add(self)
        self.port = None
        try:
            line = self._ready_line()
            m = re.fullmatch(rb"READY 127\.0\.0\.1 (\d+)\n", line)
            if not m:
                raise SetupError("%s: expected 'READY 127.0.0.1 PORT', got %r; stderr: %s"
                                 % (" ".join(argv), line, self._stderr()))
            self.port = int(m.group(1))
        except BaseException:
            self.stop()
            raise

    def _stderr(self):
        try:
            self.proc.wait(1)
            return self.proc.stderr.read().decode("utf-8", "replace")[-2000:]
        except subprocess.TimeoutExpired:
            return "(still running)"

    def _ready_line(self):
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + READY_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SetupError("%s: no READY line within %.0f s" % (" ".join(self.argv),
                                                                         READY_TIMEOUT))
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 256)
                if not chunk:
                    raise SetupError("%s exited before READY: %s" % (" ".join(self.argv),
                                                                    self._stderr()))
                buf += chunk
        return buf

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        """SIGTERM, then SIGKILL: only this process (its children follow it)."""
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


def run_harness(binary, target, scenarios, timeout, jobs, report_json, guard, profile="rfc5321",
                tls=False, ca_file=None):
    """smtpconform run; returns (exit status, parsed JSON report or None, stderr).
    tls: the TLS/AUTH configuration (--tls-verify off, --auth-user);
    ca_file: --tls-verify require against that CA file instead of off."""
    argv = [binary, "run", "-t", target, "--profile", profile, "--timeout", str(timeout),
            "-j", str(jobs), "-q", "--report", "json:%s" % report_json]
    env = None
    if tls:
        if ca_file:
            argv += ["--tls-verify", "require", "--ca-file", ca_file, "--sni", TLS_NAME]
        else:
            argv += ["--tls-verify", "off"]
        argv += ["--auth-user", AUTH_USER]
        env = dict(os.environ, SMTPCONFORM_PASSWORD=AUTH_PASSWORD)
    argv += list(scenarios)
    try:
        proc = subprocess.run(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=guard, env=env)
    except subprocess.TimeoutExpired:
        return None, None, "smtpconform did not finish within %.0f s (killed)" % guard
    report = None
    try:
        with open(report_json, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        pass
    return proc.returncode, report, proc.stderr.decode("utf-8", "replace")


# --------------------------------------------------------------- judging

def step_findings(sc):
    """{(rule, step command)} a scenario's failed and warned steps report,
    errors and warnings (a SHOULD-level
    finding, syntax.line-too-long, is a warning: it fails only under
    --strict, yet it is what names that mutant's fault)."""
    out = set()
    for st in sc.get("steps") or []:
        if st.get("verdict") not in ("fail", "warn"):
            continue
        for v in st.get("violations") or []:
            if v.get("severity") in ("error", "warn"):
                out.add((v["rule"], st.get("command")))
    return out


def failed_rules(report, ignore=()):
    """{(rule, step command)} of error violations on failed steps of failed
    scenarios, and of warnings on warned steps, except those of the
    scenarios in ignore (ids)."""
    out = set()
    for sc in (report or {}).get("scenarios", []):
        if sc.get("verdict") not in ("fail", "pass", "warn") or sc.get("id") in ignore:
            continue
        out |= step_findings(sc)
    return out


def scenario_outcomes(report):
    """[(id, verdict, [rule@command of the failed step])]."""
    out = []
    for sc in (report or {}).get("scenarios", []):
        rules = []
        for st in sc.get("steps") or []:
            if st.get("verdict") == "fail":
                rules += ["%s@%s" % (v["rule"], st.get("command"))
                          for v in st.get("violations") or []]
        out.append((sc.get("id"), sc.get("verdict"), rules))
    return out


def killing_files(report, expect, ignore=()):
    """Files of the scenarios whose failed (or warned) step carries an expected rule."""
    out = set()
    for sc in (report or {}).get("scenarios", []):
        if sc.get("id") in ignore:
            continue
        if matches(expect, step_findings(sc)):
            out.add(os.path.relpath(os.path.join(ROOT, sc["file"]), ROOT))
    return out


def matches(expect, seen):
    for rule, cmd in expect:
        for srule, scmd in seen:
            if srule == rule and (cmd == "*" or scmd == cmd):
                return True
    return False


# --------------------------------------------------------------- the run

class SelfTest:
    def __init__(self, args):
        self.args = args
        self.build = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
        self.conform = os.path.join(self.build, "smtpconform")
        self.fixture = os.path.join(self.build, "smtpfixture")
        for b in (self.conform, self.fixture):
            if not os.access(b, os.X_OK):
                raise SetupError("%s is missing: run `make` first" % b)
        self.mutant_dir = args.mutants if os.path.isabs(args.mutants) else os.path.join(ROOT, args.mutants)
        manifest = os.path.join(self.mutant_dir, "manifest.tsv")
        if not os.path.exists(manifest):
            raise SetupError("%s is missing: run fixtures/gen_mutants.py (make selftest does)"
                             % manifest)
        self.mutants = gen_mutants.read_manifest(manifest)
        params = gen_mutants.read_params(self.mutant_dir)
        if args.scenarios is not None:
            args.scenarios = os.path.relpath(os.path.join(ROOT, args.scenarios), ROOT)
        for key in ("timeout", "profile", "scenarios"):
            if getattr(args, key) is None:
                setattr(args, key, params.get(key, DEFAULTS[key]))
            elif key in params and params[key] != getattr(args, key):
                raise SetupError("the mutants were generated with %s %s, not %s: run "
                                 "fixtures/gen_mutants.py --%s %s" % (
                                     key, params[key], getattr(args, key), key,
                                     getattr(args, key)))
        self.equivalent = read_equivalent(args.equivalent)
        self.scenarios_root = args.scenarios
        self.suite = gen_mutants.scan_suite(os.path.join(ROOT, args.scenarios))
        rows = matrix_tsv.load(sorted(
            os.path.join(ROOT, "fixtures", "matrix", f)
            for f in os.listdir(os.path.join(ROOT, "fixtures", "matrix")) if f.endswith(".tsv")))
        self.profile_commands = [c for c in matrix_tsv.commands(rows, args.profile)
                                 if c != matrix_tsv.STAR]
        self.by_command = {}
        for sc in self.suite:
            for verb in sc.commands:
                mc = gen_mutants.matrix_command(rows, args.profile, verb)
                self.by_command.setdefault(mc, []).append(sc)
        self.tmp = tempfile.mkdtemp(prefix="smtpconform-selftest-")
        # A snapshot of the binaries: a rebuild during the run (make in
        # another shell) must not change or break them halfway.
        for name in ("conform", "fixture"):
            src = getattr(self, name)
            dst = os.path.join(self.tmp, os.path.basename(src))
            shutil.copy2(src, dst)
            setattr(self, name, dst)
        self.lock = threading.Lock()
        self._tls_files = {}
        self.killers = {}            # (family, kind, command) -> {scenario file: kills}
        self.reference_failures = set()
        self.reference_failure_files = set()
        self.done = 0

    def cleanup(self):
        if self.args.keep:
            print("selftest: work directory kept: %s" % self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def rel(self, path):
        return os.path.relpath(path, ROOT)

    def scenarios_for(self, command):
        """Scenario files exercising a matrix command ('*' and CONNECT: all)."""
        if command in ("*", "CONNECT"):
            chosen = self.suite
        else:
            chosen = self.by_command.get(command, [])
        return sorted({self.rel(sc.path) for sc in chosen})

    def guard(self, nscen):
        t = self.args.timeout
        waves = max(1, -(-nscen // self.args.harness_jobs))
        return 30 + 4 * t * (waves + 2)

    def tls_files(self, which="trusted"):
        """A self-signed certificate and key for the TLS/AUTH configuration,
        made once per run in the work directory with the openssl CLI;
        "untrusted": a second one (VERIFY_KINDS)."""
        with self.lock:
            if which not in self._tls_files:
                cert = os.path.join(self.tmp, "fixture-%s-cert.pem" % which)
                key = os.path.join(self.tmp, "fixture-%s-key.pem" % which)
                openssl = shutil.which("openssl")
                if openssl is None:
                    raise SetupError("the openssl command is needed for the TLS/AUTH mutants")
                proc = subprocess.run(
                    [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                     "-days", "2", "-subj", "/CN=" + TLS_NAME,
                     "-addext", "subjectAltName=DNS:" + TLS_NAME],
                    stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
                if proc.returncode != 0:
                    raise SetupError("openssl req failed: %s"
                                     % proc.stderr.decode("utf-8", "replace")[-500:])
                self._tls_files[which] = (cert, key)
            return self._tls_files[which]

    def run_one(self, behaviour, scenarios, tag, tls=False, verify=None):
        """verify: None, or the certificate the fixture presents to a
        --tls-verify require run that trusts the "trusted" one (VERIFY_KINDS)."""
        ca_file = self.tls_files("trusted")[0] if verify else None
        fx = Fixture(self.fixture, behaviour, self.tls_files(verify or "trusted") if tls else None)
        try:
            t0 = time.monotonic()
            report_path = os.path.join(self.tmp, "%s.json" % tag)
            rc, report, err = run_harness(self.conform, fx.target, scenarios, self.args.timeout,
                                          self.args.harness_jobs, report_path,
                                          self.guard(len(scenarios)), self.args.profile, tls,
                                          ca_file)
            elapsed = time.monotonic() - t0
        finally:
            fx.stop()
        if not self.args.keep:
            try:
                os.unlink(report_path)
            except OSError:
                pass
        return rc, report, err, elapsed

    # reference ------------------------------------------------------------

    def reference_one(self, tls):
        scen = [self.scenarios_root]
        rc, report, err, elapsed = self.run_one(None, scen, "reference-tls" if tls else "reference",
                                                tls)
        outcomes = scenario_outcomes(report)
        bad = [o for o in outcomes if o[1] in ("fail", "error")]
        skipped = [o for o in outcomes if o[1] == "skip"]
        ok = (report is not None and rc == 0 and not bad and outcomes
              and not any(mk in err for mk in SANITIZER_MARKERS))
        return {"ok": bool(ok), "exit": rc, "scenarios": len(outcomes), "failed": bad,
                "skipped": [o[0] for o in skipped], "stderr": err.strip(), "seconds": elapsed}

    def reference(self, with_tls=True):
        """The reference behaviour, plain and (when TLS/AUTH mutants are
        selected) with TLS and AUTH on: every scenario must pass in both."""
        plain = self.reference_one(False)
        ref = dict(plain, configs={"plain": plain})
        if with_tls:
            tls = self.reference_one(True)
            ref["configs"]["tls-auth"] = tls
            ref["ok"] = plain["ok"] and tls["ok"]
            ref["failed"] = plain["failed"] + [o for o in tls["failed"] if o not in plain["failed"]]
            ref["skipped"] = [i for i in plain["skipped"] if i in set(tls["skipped"])]
            ref["seconds"] = plain["seconds"] + tls["seconds"]
            if not tls["ok"] and plain["ok"]:
                ref["exit"], ref["stderr"] = tls["exit"], tls["stderr"]
        return ref

    # mutants --------------------------------------------------------------

    def first_wave(self, m, scenarios):
        """The scenarios tried first: those that killed mutants of the same
        family, kind and command before, else the shortest ones that pass
        against the reference. None: run them all at once."""
        if m["expect"] == "pass" or len(scenarios) <= FIRST_WAVE:
            return None
        group = (m["family"], m["kind"], m["command"])
        with self.lock:
            known = sorted(self.killers.get(group, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        wave = [path for path, _ in known if path in scenarios][:FIRST_WAVE]
        if not wave:
            steps = {self.rel(sc.path): sc.nsteps for sc in self.suite}
            usable = [p for p in scenarios if p not in self.reference_failure_files]
            wave = sorted(usable, key=lambda p: (steps.get(p, 0), p))[:FIRST_WAVE]
        return wave or None

    def judge(self, m):
        """Runs one mutant. Killed when some scenario fails with an expected
        rule. To save time the scenarios go in two waves: a few likely
        killers first, the rest only if those did not kill it; a survivor
        has always been run against every scenario that exercises the
        command, so the verdict is the one a single run of all would give."""
        scenarios = [SCENARIO_KINDS[m["kind"]]] if m["kind"] in SCENARIO_KINDS \
            else self.scenarios_for(m["command"])
        res = {"id": m["id"], "family": m["family"], "kind": m["kind"], "command": m["command"],
               "expect": m["expect"], "scenarios": scenarios,
               "equivalent": self.equivalent.get(m["id"]), "outcomes": [], "seconds": 0.0,
               "runs": 0}
        if not scenarios:
            res.update(status="survived", why="no scenario exercises %s" % m["command"])
            return res
        beh = os.path.join(self.mutant_dir, m["file"])
        first = self.first_wave(m, scenarios)
        waves = [first, [p for p in scenarios if p not in first]] if first else [scenarios]
        outcomes, seen = [], set()
        for wave in waves:
            try:
                tls = m["family"] in TLS_AUTH_FAMILIES
                rc, report, err, elapsed = self.run_one(beh, wave, "%s.%d" % (m["id"], res["runs"]),
                                                        tls, VERIFY_KINDS.get(m["kind"]) if tls
                                                        else None)
            except (SetupError, OSError) as e:
                res.update(status="error", why=str(e))
                return res
            res["runs"] += 1
            res["seconds"] += elapsed
            outcomes += scenario_outcomes(report)
            found = [mk for mk in SANITIZER_MARKERS if mk in err]
            if found:
                res.update(status="error", outcomes=outcomes,
                           why="sanitizer output %s: %s" % (found, err.strip()[-1500:]))
                return res
            if rc == 3 and m["command"] == "CONNECT" and "no greeting from" in err and \
                    matches(m["expect"], {("timeout", "CONNECT")}):
                # A server that says nothing: the capability probe ends the
                # run at once (exit 3, one line) instead of every scenario
                # timing out on the greeting; that is the detection.
                res.update(status="killed", why="", outcomes=outcomes)
                return res
            # 4: nothing failed, something was inconclusive (a setup step)
            if report is None or rc not in (0, 1, 4):
                res.update(status="error", outcomes=outcomes,
                           why="smtpconform exit %s: %s" % (rc, err.strip()[-500:]))
                return res
            if m["expect"] == "pass":
                continue
            # a scenario that fails against the reference too says nothing about the mutant
            seen |= failed_rules(report, self.reference_failures)
            killers = killing_files(report, m["expect"], self.reference_failures)
            if killers:
                with self.lock:
                    counts = self.killers.setdefault((m["family"], m["kind"], m["command"]), {})
                    for path in killers:
                        counts[path] = counts.get(path, 0) + 1
                break
        res["outcomes"] = outcomes
        if m["expect"] == "pass":
            bad = [o for o in outcomes if o[1] in ("fail", "error")
                   and o[0] not in self.reference_failures]
            res.update(status="control-failed" if bad else "passed",
                       why="; ".join("%s %s %s" % (i, v, ",".join(r)) for i, v, r in bad))
        elif matches(m["expect"], seen):
            res.update(status="killed", why="")
        elif seen:
            res.update(status="survived", why="failed, but not with %s (seen: %s)" % (
                ", ".join("%s@%s" % e for e in m["expect"]),
                ", ".join(sorted("%s@%s" % s for s in seen))))
        else:
            res.update(status="survived", why="every scenario passed")
        return res

    def progress(self, res):
        with self.lock:
            self.done += 1
            if self.args.verbose:
                print("  [%d/%d] %-45s %s %.1fs %s" % (self.done, self.total, res["id"],
                                                      res["status"], res.get("seconds", 0),
                                                      res.get("why", "")), flush=True)
            elif sys.stderr.isatty():
                sys.stderr.write("\r\033[K[%d/%d] %s" % (self.done, self.total, res["id"]))
                sys.stderr.flush()

    def run(self):
        t0 = time.monotonic()
        selected = [m for m in self.mutants if not self.args.fast or m["fast"]]
        if self.args.only:
            pat = re.compile(self.args.only)
            selected = [m for m in selected if pat.search(m["id"])]
        ids = {m["id"] for m in self.mutants}
        unknown_equivalent = sorted(set(self.equivalent) - ids)
        with_code = {m["command"] for m in self.mutants if m["family"] == "code"}
        self.uncovered = [c for c in self.profile_commands if c not in with_code]
        ref = self.reference(any(m["family"] in TLS_AUTH_FAMILIES for m in selected))
        self.reference_failures = {o[0] for o in ref["failed"]}
        self.reference_failure_files = {self.rel(sc.path) for sc in self.suite
                                        if sc.id in self.reference_failures}
        # Mutants whose detection waits for a deadline mostly sleep: they get
        # their own, wider pool, so that they overlap with the CPU-bound rest.
        slow = [m for m in selected if m["kind"] in SLOW_KINDS]
        quick = [m for m in selected if m["kind"] not in SLOW_KINDS]
        self.total = len(selected)
        results = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.slow_jobs) as spool, \
                concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs) as qpool:
            futures = [spool.submit(self.judge, m) for m in slow]
            futures += [qpool.submit(self.judge, m) for m in quick]
            try:
                for fut in concurrent.futures.as_completed(futures):
                    res = fut.result()
                    self.progress(res)
                    results.append(res)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                stop_all_fixtures()
                raise
        if sys.stderr.isatty() and not self.args.verbose:
            sys.stderr.write("\r\033[K")
        wall = time.monotonic() - t0
        order_ix = {m["id"]: i for i, m in enumerate(self.mutants)}
        results.sort(key=lambda r: order_ix[r["id"]])
        return ref, results, wall, unknown_equivalent, self.uncovered


# --------------------------------------------------------------- report

def summarize(ref, results, wall, unknown_equivalent, uncovered, args):
    fams = {f: {"mutants": 0, "equivalent": 0, "killed": 0, "survived": 0, "controls": 0,
                "controls_passed": 0, "errors": 0} for f in FAMILIES}
    survivors, stale, control_bad, errors, equivalents = [], [], [], [], []
    for r in results:
        f = fams.setdefault(r["family"], {"mutants": 0, "equivalent": 0, "killed": 0,
                                          "survived": 0, "controls": 0, "controls_passed": 0,
                                          "errors": 0})
        if r["expect"] == "pass":
            f["controls"] += 1
            if r["status"] == "passed":
                f["controls_passed"] += 1
            else:
                control_bad.append(r)
            continue
        f["mutants"] += 1
        if r["status"] == "error":
            f["errors"] += 1
            errors.append(r)
            continue
        if r["equivalent"] is not None:
            f["equivalent"] += 1
            equivalents.append(r)
            if r["status"] == "killed":
                stale.append(r)
            continue
        if r["status"] == "killed":
            f["killed"] += 1
        else:
            f["survived"] += 1
            survivors.append(r)
    for r in results:
        f = fams[r["family"]]
        f["runs"] = f.get("runs", 0) + r.get("runs", 0)
        f["sessions"] = f.get("sessions", 0) + len(r.get("outcomes") or [])
        f["seconds"] = round(f.get("seconds", 0.0) + r.get("seconds", 0.0), 2)
    total = {k: sum(f.get(k, 0) for f in fams.values()) for k in next(iter(fams.values()))}
    slowest = sorted(results, key=lambda r: -r.get("seconds", 0.0))[:10]
    ok = (ref["ok"] and not survivors and not stale and not control_bad and not errors
          and not unknown_equivalent and not uncovered)
    return {"ok": ok, "fast": bool(args.fast), "wall_seconds": round(wall, 2),
            "slowest": [{"id": r["id"], "seconds": round(r.get("seconds", 0.0), 2),
                         "runs": r.get("runs", 0)} for r in slowest],
            "jobs": args.jobs, "slow_jobs": args.slow_jobs, "harness_jobs": args.harness_jobs, "timeout": args.timeout,
            "reference": ref, "families": fams, "total": total,
            "survivors": survivors, "stale_equivalent": stale, "controls_failed": control_bad,
            "errors": errors, "equivalent": equivalents,
            "unknown_equivalent": unknown_equivalent, "uncovered_commands": uncovered,
            "profile": args.profile}


def score(killed, considered):
    return "%.1f%%" % (100.0 * killed / considered) if considered else "-"


def print_summary(s, out=sys.stdout):
    w = out.write
    ref = s["reference"]
    w("mutation self-test%s\n\n" % (" (fast slice)" if s["fast"] else ""))
    for name, c in (ref.get("configs") or {"plain": ref}).items():
        w("reference behaviour (%s): %s (%d scenarios%s)\n"
          % (name, "all pass" if c["ok"] else "FAILS", c["scenarios"],
             ", %d skipped: %s" % (len(c["skipped"]), ", ".join(c["skipped"])) if c["skipped"]
             else ""))
    for i, v, rules in ref["failed"]:
        w("  %s %s: %s\n" % (v.upper(), i, ", ".join(rules)))
    if not ref["ok"] and not ref["failed"]:
        w("  smtpconform exit %s: %s\n" % (ref["exit"], ref["stderr"][-500:]))
    w("\n%-12s %8s %11s %8s %9s %8s\n" % ("family", "mutants", "equivalent", "killed",
                                          "survived", "score"))
    for fam, f in s["families"].items():
        considered = f["mutants"] - f["equivalent"] - f["errors"]
        w("%-12s %8d %11d %8d %9d %8s\n" % (fam, f["mutants"], f["equivalent"], f["killed"],
                                            f["survived"] + f["errors"],
                                            score(f["killed"], considered + f["errors"])))
    t = s["total"]
    considered = t["mutants"] - t["equivalent"]
    w("%-12s %8d %11d %8d %9d %8s\n" % ("total", t["mutants"], t["equivalent"], t["killed"],
                                        t["survived"] + t["errors"], score(t["killed"], considered)))
    w("\nmutation score: %d / %d non-equivalent mutants killed (%s)\n"
      % (t["killed"], considered, score(t["killed"], considered)))
    w("controls (conformant variations that must pass): %d / %d passed\n"
      % (t["controls_passed"], t["controls"]))
    if s["uncovered_commands"]:
        w("NOT COVERED: no scenario exercises %s (profile %s), so the code family has no "
          "mutant for %s\n" % (", ".join(s["uncovered_commands"]), s["profile"],
                               "it" if len(s["uncovered_commands"]) == 1 else "them"))
    if s["equivalent"]:
        w("\nequivalent mutants (fixtures/mutants/equivalent.tsv, run and confirmed undetected):\n")
        for r in s["equivalent"]:
            if r["status"] != "killed":
                w("  %s: %s\n" % (r["id"], r["equivalent"]))
    for r in s["stale_equivalent"]:
        w("STALE equivalent entry: %s is killed now; remove it from equivalent.tsv\n" % r["id"])
    for mid in s["unknown_equivalent"]:
        w("STALE equivalent entry: %s is not a generated mutant\n" % mid)
    for r in s["controls_failed"]:
        w("CONTROL FAILED %s (must pass): %s\n" % (r["id"], r["why"]))
    for r in s["errors"]:
        w("ERROR %s: %s\n" % (r["id"], r["why"]))
    if s["survivors"]:
        w("\nsurvivors (%d):\n" % len(s["survivors"]))
        for r in s["survivors"]:
            w("  %s [%s] expected %s: %s\n" % (r["id"], r["family"],
                                             ", ".join("%s@%s" % e for e in r["expect"]), r["why"]))
            sc = r["scenarios"]
            if sc:
                w("    should have been caught by one of the %d scenario(s) exercising %s: %s%s\n"
                  % (len(sc), r["command"], ", ".join(sc[:6]),
                     " (+%d more, all in the JSON summary)" % (len(sc) - 6) if len(sc) > 6 else ""))
            else:
                w("    no scenario exercises %s: add one to scenarios/\n" % r["command"])
            ref_bad = {o[0] for o in s["reference"]["failed"]}
            outs = r.get("outcomes") or []
            counts = {}
            for _, v, _ in outs:
                counts[v] = counts.get(v, 0) + 1
            if outs:
                w("    outcomes: %s\n" % ", ".join("%d %s" % (n, v) for v, n in sorted(counts.items())))
            for i, v, rules in [o for o in outs if o[1] != "pass"][:8]:
                w("      %s %s %s%s\n" % (v, i, " ".join(rules),
                                         " (fails on the reference too: ignored)"
                                         if i in ref_bad else ""))
    w("\nwall time: %.1f s for %d mutants (%d at a time, %d of the deadline-bound ones; "
      "smtpconform -j %d --timeout %d)\n"
      % (s["wall_seconds"], t["mutants"] + t["controls"], s["jobs"], s["slow_jobs"],
         s["harness_jobs"], s["timeout"]))
    w("work: %d smtpconform runs, %d scenario sessions; run time summed per family: %s\n"
      % (t.get("runs", 0), t.get("sessions", 0),
         ", ".join("%s %.0f s" % (fam, f.get("seconds", 0)) for fam, f in s["families"].items())))
    w("result: %s\n" % ("PASS" if s["ok"] else "FAIL"))


def main(argv=None):
    ap = argparse.ArgumentParser(description="mutation self-test of the bundled suite")
    ap.add_argument("--build", default="build", help="directory of smtpconform and smtpfixture")
    ap.add_argument("--mutants", default="build/mutants", help="output of fixtures/gen_mutants.py")
    ap.add_argument("--scenarios", help="the bundled suite, relative to the repository (default: "
                    "what the mutants were generated from, scenarios/)")
    ap.add_argument("--equivalent", default=EQUIVALENT)
    ap.add_argument("--profile", help="matrix profile (default: the mutants', rfc5321)")
    ap.add_argument("--fast", action="store_true", help="only the fast slice (manifest fast=1)")
    ap.add_argument("--only", metavar="REGEX", help="only mutants whose id matches")
    ap.add_argument("-j", "--jobs", type=int, default=max(4, 4 * (os.cpu_count() or 1)),
                    help="mutants at once (each with its own smtpfixture)")
    ap.add_argument("--slow-jobs", type=int, default=24,
                    help="deadline-bound mutants at once (they mostly wait)")
    ap.add_argument("--harness-jobs", type=int, default=32, help="smtpconform -j")
    ap.add_argument("--timeout", type=int,
                    help="smtpconform --timeout (default: the one the mutants were generated for)")
    ap.add_argument("--summary", help="write the JSON summary here")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (binaries, every JSON report) in $TMPDIR")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per mutant")
    args = ap.parse_args(argv)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_sigterm)
    st = None
    try:
        st = SelfTest(args)
        ref, results, wall, unknown, uncovered = st.run()
    except SetupError as e:
        print("selftest: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("selftest: interrupted", file=sys.stderr)
        return 130
    finally:
        stop_all_fixtures()
        if st is not None:
            st.cleanup()
    s = summarize(ref, results, wall, unknown, uncovered, args)
    print_summary(s)
    if args.summary:
        os.makedirs(os.path.dirname(os.path.abspath(args.summary)), exist_ok=True)
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump(s, f, indent=1, default=list)
            f.write("\n")
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
