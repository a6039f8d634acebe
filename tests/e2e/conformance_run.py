#!/usr/bin/python3
"""conformance_run.py - the whole bundled suite against the real servers.

    /usr/bin/python3 tests/e2e/conformance_run.py [--out-dir reports]
        [--server postfix] [--server aiosmtpd] [--server opensmtpd]
        [--build build] [-j 8] [--timeout 5] [SUITE]

Starts each server (a private Postfix, aiosmtpd, a private OpenSMTPD, as the
e2e tests do: see servers.py), runs

    smtpconform run -t TARGET --var domain=HOSTNAME --timeout 5 -j 8 -q \
        --report json:OUT_DIR/conformance-SERVER.json SUITE

and stops the server again. Prints one summary line per server. Exit 0 when
every report was written (failing scenarios are expected: they are the
servers' deviations, recorded in tests/e2e/expected/), 1 otherwise.

`make conformance` runs this, then scripts/gen_conformance.py. The same
run_suite() is what tests/e2e/test_real_servers.py and update_expected.py use,
so the verdicts recorded, tested and published come from identical runs.
Needs root (Postfix, OpenSMTPD) and Debian's python3 (aiosmtpd).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402

SERVER_NAMES = ("postfix", "aiosmtpd", "opensmtpd")
SUITE = "scenarios"
JOBS = 8
TIMEOUT = 5


def make_server(name, keep_dir):
    """An unstarted server object for NAME."""
    if name == "postfix":
        return servers.PostfixServer(keep_dir=keep_dir)
    if name == "opensmtpd":
        return servers.OpensmtpdServer(keep_dir=keep_dir)
    if name == "aiosmtpd":
        return servers.AiosmtpdServer(keep_dir)
    raise ValueError("unknown server %r (known: %s)" % (name, ", ".join(SERVER_NAMES)))


def software_version(name):
    """The package and version of server NAME on this machine, for the
    record ("postfix 3.7.11-0+deb12u1"), or None when it cannot be told."""
    try:
        if name == "opensmtpd":
            return (servers.opensmtpd_prefix() / ".installed").read_text().strip() or None
        pkg = {"postfix": "postfix", "aiosmtpd": "python3-aiosmtpd"}[name]
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}", pkg],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return None
        return out.stdout.strip() or None
    except (OSError, KeyError, subprocess.SubprocessError):
        return None


def suite_args(server, suite=SUITE, jobs=JOBS, timeout=TIMEOUT, target=None):
    """smtpconform arguments (without the report) of one full-suite run."""
    return ["run", "-t", target or server.target,
            "--var", "domain=%s" % server.hostname,
            "--timeout", str(timeout), "-j", str(jobs), "-q", suite]


def run_suite(server, report_path, build=None, suite=SUITE, jobs=JOBS, timeout=TIMEOUT,
              hang_guard=900):
    """Runs the suite against a started SERVER outside pytest; returns
    (exit status, parsed report or None, stdout+stderr)."""
    exe = Path(build or servers.build_dir()) / "smtpconform"
    if not exe.is_absolute():
        exe = servers.REPO / exe
    report_path = Path(report_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.unlink(missing_ok=True)
    argv = [str(exe)] + suite_args(server, suite, jobs, timeout) + [
        "--report", "json:%s" % report_path]
    proc = subprocess.run(argv, cwd=str(servers.REPO), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=hang_guard)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    try:
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = None
    return proc.returncode, report, "$ %s\n%s" % (" ".join(argv), out)


def run_servers(names, out_dir, build=None, suite=SUITE, jobs=JOBS, timeout=TIMEOUT,
                log=sys.stderr):
    """Starts each server in turn, runs the suite, stops it. Returns
    {name: report path} of the reports written and a list of problems."""
    written, problems = {}, []
    with tempfile.TemporaryDirectory(prefix="smtpconform-conformance-") as tmp:
        for name in names:
            server = make_server(name, Path(tmp) / name)
            try:
                server.start()
            except servers.ServerError as e:
                problems.append("cannot start %s: %s" % (name, e))
                continue
            try:
                path = Path(out_dir) / ("conformance-%s.json" % name)
                t0 = time.monotonic()
                rc, report, output = run_suite(server, path, build, suite, jobs, timeout)
                if report is None:
                    problems.append("%s: no JSON report (exit %s)\n%s" % (name, rc, output))
                    continue
                if report.get("interrupted"):
                    problems.append("%s: the run was interrupted" % name)
                written[name] = path
                s = report["summary"]
                log.write("%-10s %-22s %3d scenarios: %3d pass, %3d fail, %3d skip, %d error "
                          "(exit %d, %.1fs) -> %s\n"
                          % (name, server.target, s["total"], s["pass"], s["fail"], s["skip"],
                             s["error"], rc, time.monotonic() - t0, path))
            finally:
                server.stop()
    return written, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default="reports",
                    help="where conformance-SERVER.json go (default reports/)")
    ap.add_argument("--server", action="append", choices=SERVER_NAMES,
                    help="run against this server only (repeatable; default all three)")
    ap.add_argument("--build", help="directory of smtpconform (default $SMTPCONFORM_BUILD "
                    "or build)")
    ap.add_argument("-j", "--jobs", type=int, default=JOBS)
    ap.add_argument("--timeout", type=int, default=TIMEOUT)
    ap.add_argument("suite", nargs="?", default=SUITE)
    args = ap.parse_args()

    os.chdir(servers.REPO)
    written, problems = run_servers(args.server or SERVER_NAMES, args.out_dir, args.build,
                                    args.suite, args.jobs, args.timeout)
    for p in problems:
        sys.stderr.write("conformance_run: %s\n" % p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
