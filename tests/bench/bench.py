#!/usr/bin/env python3
"""make bench: figures, never assertions.

1. The reply reader's throughput (tests/bench/bench_reply.c).
2. A whole run of the bundled suite against the fixture server at -j 1 and -j 8:
   wall time, scenarios per second, the harness's peak RSS.
3. Many concurrent sessions: 400 copies of a short scenario at -j 1, 16, 64, 256.
Servers listen on 127.0.0.1 only and are stopped here.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SMTPCONFORM_BUILD", os.path.join(ROOT, "build"))
HARNESS = os.path.join(BUILD, "smtpconform")
FIXTURE = os.path.join(BUILD, "smtpfixture")


def start_fixture():
    proc = subprocess.Popen([FIXTURE, "--listen", "127.0.0.1:0", "--quiet",
                             "--behaviour", os.path.join(ROOT, "fixtures/behaviours/reference.beh")],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 3 or line[0] != "READY":
        proc.kill()
        sys.exit("bench: fixture server did not start")
    return proc, "%s:%s" % (line[1], line[2])


def run(target, args, repeat=3):
    """Best wall time of repeat runs and the peak RSS (KiB) of the harness."""
    best = None
    rss = 0
    for _ in range(repeat):
        t0 = time.monotonic()
        proc = subprocess.Popen([HARNESS, "run", "-q", "-t", target, "--report", "json:/dev/null"]
                                + args, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        dt = time.monotonic() - t0
        if proc.returncode not in (0, 1):  # 1: a scenario failed; timing still holds
            sys.exit("bench: harness exited %d" % proc.returncode)
        best = dt if best is None else min(best, dt)
        rss = max(rss, usage.ru_maxrss)
    return best, rss


def main():
    bench_reply = os.path.join(BUILD, "bench_reply")
    subprocess.run(["cc", "-std=c11", "-O2", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                    "-iquote", os.path.join(ROOT, "harness"),
                    os.path.join(ROOT, "tests/bench/bench_reply.c"),
                    os.path.join(BUILD, "libharness.a"), "-o", bench_reply], check=True)
    subprocess.run([bench_reply], check=True)

    proc, target = start_fixture()
    tmp = tempfile.mkdtemp(prefix="smtpconform-bench-")
    try:
        suite = os.path.join(ROOT, "scenarios")
        count = subprocess.run([HARNESS, "check", suite], capture_output=True, text=True).stdout.split()[0]
        for jobs in (1, 8):
            dt, rss = run(target, ["-j", str(jobs), suite])
            print("bundled suite (%s scenarios), -j %d: %.3f s wall, %.0f scenarios/s, peak RSS %d KiB"
                  % (count, jobs, dt, int(count) / dt, rss))
        many = os.path.join(tmp, "many")
        os.makedirs(many)
        for i in range(400):
            with open(os.path.join(many, "s%03d.smtp" % i), "w") as f:
                f.write("id: bench.s%03d\nS: 220\nC: EHLO {client}\nS: 250\nC: NOOP\nS: 250\n"
                        "C: QUIT\nS: 221\nS: close\n" % i)
        for jobs in (1, 16, 64, 256):
            dt, rss = run(target, ["-j", str(jobs), many], repeat=2)
            print("400 sessions, -j %3d: %.3f s wall, %.0f sessions/s, peak RSS %d KiB"
                  % (jobs, dt, 400 / dt, rss))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
