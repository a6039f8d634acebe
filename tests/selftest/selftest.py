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
SLOW_KINDS = {"drip", "delayed", "silent", "dash-last", "bare-cr-eol", "no-greeting",
              "no-close", "after-quit"}
READY_TIMEOUT = 10.0


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

class Fixture:
    """One smtpfixture on 127.0.0.1, port 0; always stopped by stop()."""

    def __init__(self, binary, behaviour=None):
        argv = [binary, "--listen", "127.0.0.1:0", "--quiet"]
        if behaviour:
            argv += ["--behaviour", behaviour]
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
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


def run_harness(binary, target, scenarios, timeout, jobs, report_json, guard):
    """smtpconform run; returns (exit status, parsed JSON report or None, stderr)."""
    argv = [binary, "run", "-t", target, "--timeout", str(timeout), "-j", str(jobs), "-q",
            "--report", "json:%s" % report_json] + list(scenarios)
    try:
        proc = subprocess.run(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=guard)
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

def failed_rules(report):
    """{(rule, step command)} of error violations on failed steps of failed scenarios."""
    out = set()
    for sc in (report or {}).get("scenarios", []):
        if sc.get("verdict") != "fail":
            continue
        for st in sc.get("steps") or []:
            if st.get("verdict") != "fail":
                continue
            for v in st.get("violations") or []:
                if v.get("severity") == "error":
                    out.add((v["rule"], st.get("command")))
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
        self.equivalent = read_equivalent(args.equivalent)
        self.scenarios_root = args.scenarios
        self.suite = gen_mutants.scan_suite(os.path.join(ROOT, args.scenarios))
        rows = matrix_tsv.load(sorted(
            os.path.join(ROOT, "fixtures", "matrix", f)
            for f in os.listdir(os.path.join(ROOT, "fixtures", "matrix")) if f.endswith(".tsv")))
        self.by_command = {}
        for sc in self.suite:
            for verb in sc.commands:
                mc = gen_mutants.matrix_command(rows, args.profile, verb)
                self.by_command.setdefault(mc, []).append(sc)
        self.tmp = tempfile.mkdtemp(prefix="smtpconform-selftest-")
        self.lock = threading.Lock()
        self.done = 0

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

    def run_one(self, behaviour, scenarios, tag):
        fx = Fixture(self.fixture, behaviour)
        try:
            t0 = time.monotonic()
            report_path = os.path.join(self.tmp, "%s.json" % tag)
            rc, report, err = run_harness(self.conform, fx.target, scenarios, self.args.timeout,
                                          self.args.harness_jobs, report_path,
                                          self.guard(len(scenarios)))
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

    def reference(self):
        scen = [self.scenarios_root]
        rc, report, err, elapsed = self.run_one(None, scen, "reference")
        outcomes = scenario_outcomes(report)
        bad = [o for o in outcomes if o[1] in ("fail", "error")]
        skipped = [o for o in outcomes if o[1] == "skip"]
        ok = report is not None and rc == 0 and not bad and outcomes
        return {"ok": bool(ok), "exit": rc, "scenarios": len(outcomes), "failed": bad,
                "skipped": [o[0] for o in skipped], "stderr": err.strip(), "seconds": elapsed}

    # mutants --------------------------------------------------------------

    def judge(self, m):
        scenarios = self.scenarios_for(m["command"])
        res = {"id": m["id"], "family": m["family"], "kind": m["kind"], "command": m["command"],
               "expect": m["expect"], "scenarios": scenarios,
               "equivalent": self.equivalent.get(m["id"])}
        if not scenarios:
            res.update(status="survived", why="no scenario exercises %s" % m["command"],
                       outcomes=[], seconds=0.0)
            return res
        beh = os.path.join(self.mutant_dir, m["file"])
        try:
            rc, report, err, elapsed = self.run_one(beh, scenarios, m["id"])
        except SetupError as e:
            res.update(status="error", why=str(e), outcomes=[], seconds=0.0)
            return res
        res["seconds"] = elapsed
        res["outcomes"] = scenario_outcomes(report)
        if report is None or rc not in (0, 1):
            res.update(status="error", why="smtpconform exit %s: %s" % (rc, err.strip()[-500:]))
            return res
        if m["expect"] == "pass":
            bad = [o for o in res["outcomes"] if o[1] in ("fail", "error")]
            res.update(status="passed" if rc == 0 and not bad else "control-failed",
                       why="" if not bad else "; ".join("%s %s %s" % (i, v, ",".join(r))
                                                        for i, v, r in bad))
            return res
        seen = failed_rules(report)
        if matches(m["expect"], seen):
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
        ref = self.reference()
        # slow (deadline-bound) mutants first, so that they overlap with the rest
        order = sorted(selected, key=lambda m: (m["kind"] not in SLOW_KINDS and
                                                m["family"] != "sequencing"))
        self.total = len(order)
        results = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs) as pool:
            for res in pool.map(self.judge, order):
                self.progress(res)
                results.append(res)
        if sys.stderr.isatty() and not self.args.verbose:
            sys.stderr.write("\r\033[K")
        wall = time.monotonic() - t0
        order_ix = {m["id"]: i for i, m in enumerate(self.mutants)}
        results.sort(key=lambda r: order_ix[r["id"]])
        try:
            os.rmdir(self.tmp)
        except OSError:
            pass
        return ref, results, wall, unknown_equivalent


# --------------------------------------------------------------- report

def summarize(ref, results, wall, unknown_equivalent, args):
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
    total = {k: sum(f[k] for f in fams.values()) for k in next(iter(fams.values()))}
    ok = (ref["ok"] and not survivors and not stale and not control_bad and not errors
          and not unknown_equivalent)
    return {"ok": ok, "fast": bool(args.fast), "wall_seconds": round(wall, 2),
            "jobs": args.jobs, "harness_jobs": args.harness_jobs, "timeout": args.timeout,
            "reference": ref, "families": fams, "total": total,
            "survivors": survivors, "stale_equivalent": stale, "controls_failed": control_bad,
            "errors": errors, "equivalent": equivalents,
            "unknown_equivalent": unknown_equivalent}


def score(killed, considered):
    return "%.1f%%" % (100.0 * killed / considered) if considered else "-"


def print_summary(s, out=sys.stdout):
    w = out.write
    ref = s["reference"]
    w("mutation self-test%s\n\n" % (" (fast slice)" if s["fast"] else ""))
    w("reference behaviour: %s (%d scenarios%s)\n"
      % ("all pass" if ref["ok"] else "FAILS", ref["scenarios"],
         ", %d skipped: %s" % (len(ref["skipped"]), ", ".join(ref["skipped"])) if ref["skipped"]
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
            w("    should have been caught by: %s\n"
              % (", ".join(r["scenarios"]) or "(no scenario exercises %s)" % r["command"]))
            for i, v, rules in r.get("outcomes", [])[:12]:
                w("      %s %s %s\n" % (v, i, " ".join(rules)))
    w("\nwall time: %.1f s (%d mutants, %d at a time, smtpconform -j %d --timeout %d)\n"
      % (s["wall_seconds"], t["mutants"] + t["controls"], s["jobs"], s["harness_jobs"],
         s["timeout"]))
    w("result: %s\n" % ("PASS" if s["ok"] else "FAIL"))


def main(argv=None):
    ap = argparse.ArgumentParser(description="mutation self-test of the bundled suite")
    ap.add_argument("--build", default="build", help="directory of smtpconform and smtpfixture")
    ap.add_argument("--mutants", default="build/mutants", help="output of fixtures/gen_mutants.py")
    ap.add_argument("--scenarios", default="scenarios", help="the bundled suite (relative to the repo)")
    ap.add_argument("--equivalent", default=EQUIVALENT)
    ap.add_argument("--profile", default="rfc5321")
    ap.add_argument("--fast", action="store_true", help="only the fast slice (manifest fast=1)")
    ap.add_argument("--only", metavar="REGEX", help="only mutants whose id matches")
    ap.add_argument("-j", "--jobs", type=int, default=max(4, 4 * (os.cpu_count() or 1)),
                    help="mutants at once (each with its own smtpfixture)")
    ap.add_argument("--harness-jobs", type=int, default=32, help="smtpconform -j")
    ap.add_argument("--timeout", type=int, default=gen_mutants.DEFAULT_TIMEOUT,
                    help="smtpconform --timeout (must match gen_mutants.py --timeout)")
    ap.add_argument("--summary", help="write the JSON summary here")
    ap.add_argument("--keep", action="store_true", help="keep every JSON report (in $TMPDIR)")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per mutant")
    args = ap.parse_args(argv)
    try:
        st = SelfTest(args)
        ref, results, wall, unknown = st.run()
    except SetupError as e:
        print("selftest: %s" % e, file=sys.stderr)
        return 2
    s = summarize(ref, results, wall, unknown, args)
    print_summary(s)
    if args.summary:
        os.makedirs(os.path.dirname(os.path.abspath(args.summary)), exist_ok=True)
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump(s, f, indent=1, default=list)
            f.write("\n")
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
