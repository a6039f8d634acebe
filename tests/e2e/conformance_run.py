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
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mta_servers  # noqa: E402
import servers  # noqa: E402

SERVER_NAMES = ("postfix", "aiosmtpd", "opensmtpd", "exim", "sendmail", "dovecot", "haraka",
                "qpsmtpd")
SUITE = "scenarios"
JOBS = 8
TIMEOUT = 5
# Servers whose suites run at the same time (one smtpconform -j JOBS each).
PARALLEL = 4


def make_server(name, keep_dir, relay=None):
    """An unstarted server object for NAME (dovecot: RELAY is the started
    PostfixServer its submission service relays to)."""
    if name == "exim":
        return mta_servers.EximServer(keep_dir=keep_dir)
    if name == "sendmail":
        return mta_servers.SendmailServer(keep_dir=keep_dir)
    if name == "haraka":
        return mta_servers.HarakaServer(keep_dir=keep_dir)
    if name == "qpsmtpd":
        return mta_servers.QpsmtpdServer(keep_dir=keep_dir)
    if name == "dovecot":
        return mta_servers.DovecotServer(relay, keep_dir=keep_dir)
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
        if name in ("exim", "sendmail", "haraka", "qpsmtpd"):
            # the first line of the prefix's stamp: the main package
            stamp = mta_servers.prefix(name, name) / ".installed"
            return " ".join(stamp.read_text().split("\n")[0].split()) or None
        pkg = {"postfix": "postfix", "aiosmtpd": "python3-aiosmtpd",
               "dovecot": "dovecot-submissiond"}[name]
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}", pkg],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return None
        return out.stdout.strip() or None
    except (OSError, KeyError, subprocess.SubprocessError):
        return None


def server_domain(server):
    """The domain the suite runs with against SERVER (--var domain=): its
    host name, or for a submission service the domain of its relay."""
    return getattr(server, "domain", None) or server.hostname


def suite_args(server, suite=SUITE, jobs=JOBS, timeout=TIMEOUT, target=None):
    """smtpconform arguments (without the report) of one full-suite run.
    A server may ask for a longer --timeout (suite_timeout: Sendmail delays
    some refusals on purpose) and extra arguments (suite_extra_args():
    Dovecot's --auth-user)."""
    timeout = getattr(server, "suite_timeout", None) or timeout
    extra = server.suite_extra_args() if hasattr(server, "suite_extra_args") else []
    return ["run", "-t", target or server.target,
            "--var", "domain=%s" % server_domain(server),
            "--timeout", str(timeout), "-j", str(jobs), "-q"] + list(extra) + [suite]


def server_env(server):
    """Environment additions the harness needs for SERVER (AUTH password)."""
    return dict(getattr(server, "auth_env", None) or {})


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
    env = dict(os.environ, **server_env(server))
    proc = subprocess.run(argv, cwd=str(servers.REPO), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=hang_guard, env=env)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    try:
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = None
    return proc.returncode, report, "$ %s\n%s" % (" ".join(argv), out)


def run_servers(names, out_dir, build=None, suite=SUITE, jobs=JOBS, timeout=TIMEOUT,
                log=sys.stderr, parallel=PARALLEL):
    """Starts the servers, runs the suite against up to PARALLEL of them at
    once (one harness process each), stops them. Dovecot gets a private
    Postfix to relay to (the "postfix" one when it is among NAMES).
    Returns {name: report path} of the reports written and a list of
    problems."""
    written, problems = {}, []
    started = {}
    with tempfile.TemporaryDirectory(prefix="smtpconform-conformance-") as tmp:
        try:
            order = sorted(names, key=lambda n: n == "dovecot")  # its relay first
            relay = None
            for name in order:
                if name == "dovecot":
                    relay = started.get("postfix")
                    if relay is None:
                        relay = started["dovecot-relay"] = make_server(
                            "postfix", Path(tmp) / "dovecot-relay")
                        try:
                            relay.start()
                        except servers.ServerError as e:
                            problems.append("cannot start dovecot's relay (postfix): %s" % e)
                            continue
                server = make_server(name, Path(tmp) / name, relay=relay)
                try:
                    server.start()
                except servers.ServerError as e:
                    problems.append("cannot start %s: %s" % (name, e))
                    continue
                started[name] = server

            def one(name):
                server = started[name]
                path = Path(out_dir) / ("conformance-%s.json" % name)
                t0 = time.monotonic()
                rc, report, output = run_suite(server, path, build, suite, jobs, timeout)
                return name, server, path, rc, report, output, time.monotonic() - t0

            todo = [n for n in names if n in started]
            with concurrent.futures.ThreadPoolExecutor(max(1, parallel)) as pool:
                for name, server, path, rc, report, output, secs in pool.map(one, todo):
                    if report is None:
                        problems.append("%s: no JSON report (exit %s)\n%s" % (name, rc, output))
                        continue
                    if report.get("interrupted"):
                        problems.append("%s: the run was interrupted" % name)
                    written[name] = path
                    s = report["summary"]
                    log.write("%-10s %-22s %3d scenarios: %3d pass, %3d fail, %3d skip, "
                              "%d error, %3d inconclusive (exit %d, %.1fs) -> %s\n"
                              % (name, server.target, s["total"], s["pass"], s["fail"],
                                 s["skip"], s["error"], s.get("inconclusive", 0), rc, secs,
                                 path))
        finally:
            for server in reversed(list(started.values())):
                server.stop()
    return written, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default="reports",
                    help="where conformance-SERVER.json go (default reports/)")
    ap.add_argument("--server", action="append", choices=SERVER_NAMES,
                    help="run against this server only (repeatable; default all eight)")
    ap.add_argument("--build", help="directory of smtpconform (default $SMTPCONFORM_BUILD "
                    "or build)")
    ap.add_argument("-j", "--jobs", type=int, default=JOBS)
    ap.add_argument("--parallel", type=int, default=PARALLEL,
                    help="servers tested at the same time (default %d)" % PARALLEL)
    ap.add_argument("--timeout", type=int, default=TIMEOUT)
    ap.add_argument("suite", nargs="?", default=SUITE)
    args = ap.parse_args()

    os.chdir(servers.REPO)
    written, problems = run_servers(args.server or SERVER_NAMES, args.out_dir, args.build,
                                    args.suite, args.jobs, args.timeout,
                                    parallel=args.parallel)
    for p in problems:
        sys.stderr.write("conformance_run: %s\n" % p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
