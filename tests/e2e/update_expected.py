#!/usr/bin/python3
"""update_expected.py - re-record what each real server gets from the suite.

    /usr/bin/python3 tests/e2e/update_expected.py            # all eight servers
    /usr/bin/python3 tests/e2e/update_expected.py --server opensmtpd
    /usr/bin/python3 tests/e2e/update_expected.py --report postfix=reports/conformance-postfix.json
    /usr/bin/python3 tests/e2e/update_expected.py --check    # compare only, write nothing

tests/e2e/expected/SERVER.json records, for one server, every scenario of the
bundled suite that does not pass (pass is the default, so it is not written):

    "esmtp.size.over-limit": {
      "verdict": "fail",
      "rule": "expect.code",          # first error of the failing step...
      "command": "MAIL",              # ...and the command that step answers
      "transcript": "C: ...\\nS: ...", # excerpt of the wire log up to the failure
      "rfc": "RFC 5321 4.1.4: \\"...\\"", # the text the server violates, quoted
      "why": "one line"
    },
    "esmtp.dsn.envid": {"verdict": "skip", "reason": "the server does not advertise DSN"}
    "relay.foreign-rcpt-refused": {"verdict": "inconclusive", "reason": "precondition: ..."}

An inconclusive entry (a setup step or a precondition the probe checks did
not hold: nothing was tested) is recorded like a skip, with the harness's
reason, which names the step, the reply and what to set.

An entry may also list "also": [{"rule": ..., "command": ...}], other ways
the same deviation shows depending on timing (a close seen as a reset).

A SHOULD-level finding does not fail a scenario (it is a warning: a run
fails on it only with --strict), but it is a finding all the same, so it is
audited too. "warnings" lists every warning finding of the run (the
report's findings with verdict "warn"), one per rule, command and reply
code, whatever scenarios showed it:

    "warnings": [
      {"rule": "expect.code", "command": "RCPT", "code": 501,
       "scenarios": ["rfc5321.rcpt.address-literal"],
       "reply": "501 ...",              # the first reply line, as a reminder
       "rfc": "RFC 5321 4.1.2: ...", "why": "Software: ..."}
    ]

Without --report, the servers are started and the suite run exactly as
`make conformance` does (conformance_run.py). Then, per server:

- verdict, rule, command, transcript and reason are refreshed from the run
  (a transcript that differs only in a queue id is left as it was);
- "rfc", "why" and "also" of an entry that exists are kept as written;
- a new failure gets "rfc": "TODO" and "why": "TODO": the e2e test fails
  until a human has filled them in (a deviation is recorded only with the
  RFC text it violates);
- entries of scenarios that now pass are removed (and listed);
- warnings are refreshed the same way: "rfc" and "why" kept for a rule,
  command and code recorded already, TODO for a new one, gone when no
  scenario shows it any more.

So after a change to the harness or the suite, re-recording is this one
command, and only the new deviations need writing. test_real_servers.py
(test_full_suite) uses compare() below to fail on any verdict that differs
from the recorded one, either way, and on any warning that is not recorded
or recorded but not seen.
"""

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(E2E_DIR))

import conformance_run  # noqa: E402

EXPECTED_DIR = E2E_DIR / "expected"
SERVER_NAMES = conformance_run.SERVER_NAMES
TODO = "TODO"
TRANSCRIPT_LINES = 12        # lines kept in an excerpt
TRANSCRIPT_LINE_MAX = 200    # characters kept of one line
FAIL_KEYS = ("verdict", "rule", "command", "also", "why", "rfc", "transcript")
WARN_KEYS = ("rule", "command", "code", "scenarios", "reply", "rfc", "why")
REGENERATE = "/usr/bin/python3 tests/e2e/update_expected.py"
RUN = "smtpconform run -t TARGET --var domain=%s --timeout %s -j 8%s scenarios (tests/e2e/conformance_run.py)"


def run_line(name):
    """How server NAME's suite is run (the "run" field of its file)."""
    import servers
    if name not in SERVER_NAMES:
        return RUN % ("%s.smtpconform.test" % name, conformance_run.TIMEOUT, "")
    relay = servers.PostfixServer(ipv6=False) if name == "dovecot" else None
    import tempfile
    # aiosmtpd's runner needs a log directory even when nothing is started
    srv = conformance_run.make_server(name, tempfile.mkdtemp() if name == "aiosmtpd" else None,
                                      relay=relay)
    extra = srv.suite_extra_args() if hasattr(srv, "suite_extra_args") else []
    return RUN % (conformance_run.server_domain(srv),
                  getattr(srv, "suite_timeout", None) or conformance_run.TIMEOUT,
                  "".join(" " + a for a in extra))


# ---------------------------------------------------------------------------
# the expected files


def expected_path(name):
    return EXPECTED_DIR / ("%s.json" % name)


def load_expected(name):
    """The recorded file of server NAME ({"scenarios": {}} when missing)."""
    path = expected_path(name)
    if not path.exists():
        return {"server": name, "scenarios": {}}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    data.setdefault("scenarios", {})
    return data


def dump_expected(data):
    """Deterministic text of an expected file: entries sorted by id, keys in
    a fixed order, UTF-8 as it is."""
    out = {k: v for k, v in data.items() if k != "scenarios"}
    scenarios = {}
    for sid in sorted(data.get("scenarios", {})):
        entry = data["scenarios"][sid]
        ordered = {k: entry[k] for k in FAIL_KEYS + ("reason",) if k in entry}
        ordered.update({k: v for k, v in entry.items() if k not in ordered})
        scenarios[sid] = ordered
    out["scenarios"] = scenarios
    out.pop("warnings", None)  # written last, when there are any
    if data.get("warnings"):
        out["warnings"] = [
            {k: w[k] for k in WARN_KEYS + tuple(sorted(set(w) - set(WARN_KEYS))) if k in w}
            for w in sorted(data["warnings"], key=warning_key_str)]
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def write_expected(name, data):
    path = expected_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dump_expected(data), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# reading a scenario of a JSON report


def error_violations(sc):
    """(rule, command) of every error-severity violation, in step order."""
    return [(v.get("rule"), st.get("command"))
            for st in sc.get("steps") or []
            for v in st.get("violations") or [] if v.get("severity") == "error"]


def cut_line(line):
    if len(line) <= TRANSCRIPT_LINE_MAX:
        return line
    return "%s... (%d more characters)" % (line[:TRANSCRIPT_LINE_MAX], len(line) - TRANSCRIPT_LINE_MAX)


def transcript_excerpt(sc, command=None):
    """The end of the scenario's wire log, where it failed (a run stops at
    its first failing step): without the greeting and the first EHLO/HELO
    exchange unless the failure is there, at most TRANSCRIPT_LINES lines,
    long lines cut."""
    lines = [ln for ln in (sc.get("transcript") or "").splitlines() if ln.strip()]
    if command not in ("CONNECT", "EHLO", "HELO"):
        # Drop the greeting and the opening EHLO/HELO with its reply.
        i = 0
        while i < len(lines) and lines[i].startswith("S: "):
            i += 1
        if i < len(lines) and re.match(r"C: (EHLO|HELO) ", lines[i], re.I):
            j = i + 1
            while j < len(lines) and lines[j].startswith("S: "):
                j += 1
            if j < len(lines):
                lines = lines[j:]
    if len(lines) > TRANSCRIPT_LINES:
        lines = ["..."] + lines[-TRANSCRIPT_LINES:]
    return "\n".join(cut_line(ln) for ln in lines)


def observed_entry(sc):
    """The entry a scenario of a report would be recorded as (None for pass)."""
    verdict = sc.get("verdict")
    if verdict == "pass":
        return None
    if verdict in ("skip", "inconclusive"):
        # inconclusive: a setup step or a precondition did not hold; the
        # reason names the step, the reply and the hint
        return {"verdict": verdict, "reason": sc.get("reason") or ""}
    found = error_violations(sc)
    rule, command = found[0] if found else (None, None)
    entry = {"verdict": verdict, "rule": rule, "command": command}
    if verdict == "error" or not found:
        entry["reason"] = sc.get("reason") or ""
    entry["transcript"] = transcript_excerpt(sc, command)
    return entry


VOLATILE_RE = re.compile(r"(queued as|id=|ID) ?[0-9A-Za-z]{6,}")


def volatile_free(text):
    """TEXT without what changes from run to run (Postfix queue ids), to
    tell a transcript that really changed from one that did not."""
    return VOLATILE_RE.sub(r"\1 <id>", text or "")


def same_failure(entry, sc):
    """A failing scenario fails the way ENTRY records: its rule on its
    command (or one of the "also" alternatives) is among the errors."""
    found = set(error_violations(sc))
    wanted = [(entry.get("rule"), entry.get("command"))]
    wanted += [(a.get("rule"), a.get("command")) for a in entry.get("also") or []]
    return any(w in found for w in wanted)


def warning_key(w):
    """What tells one warning from another: its rule, command and code."""
    return (w.get("rule") or "", w.get("command") or "", w.get("code"))


def warning_key_str(w):
    rule, command, code = warning_key(w)
    return (rule, command, "%03d" % code if isinstance(code, int) else "")


def describe_warning(w):
    rule, command, code = warning_key(w)
    return "%s on %s%s" % (rule, command or "-", " (%s)" % code if code is not None else "")


def observed_warnings(report):
    """The warning findings of a report, as recorded entries without rfc/why:
    one per rule, command and code, the scenarios of all of them joined."""
    out = {}
    for f in report.get("findings") or []:
        if f.get("verdict") != "warn":
            continue
        w = {"rule": f.get("rule"), "command": f.get("command"), "code": f.get("code")}
        k = warning_key(w)
        if k not in out:
            reply = f.get("reply") or []
            w["scenarios"] = []
            w["reply"] = cut_line(reply[0]) if reply else ""
            out[k] = w
        out[k]["scenarios"] = sorted(set(out[k]["scenarios"]) | set(f.get("scenarios") or []))
    return out


# A recorded failure's "why" begins with its cause (tests/e2e/README.md).
CAUSES = ("Software", "Configuration", "Test")
CAUSE_RE = re.compile(r"(%s)\b[^:]*:" % "|".join(CAUSES))


def cause_of(entry):
    """"Software", "Configuration" or "Test": the cause a failure's why
    begins with (None when it names none)."""
    m = CAUSE_RE.match((entry.get("why") or "").strip())
    return m.group(1) if m else None


def entry_problems(sid, entry):
    """What is missing from a recorded entry (hand-written fields too)."""
    verdict = entry.get("verdict")
    if verdict not in ("fail", "skip", "error", "inconclusive"):
        return ["%s: recorded verdict %r (only fail, skip, error and inconclusive are "
                "recorded; pass is the default)" % (sid, verdict)]
    if verdict in ("skip", "inconclusive"):
        return [] if entry.get("reason") or verdict == "skip" else [
            "%s: recorded inconclusive has no reason" % sid]
    out = ["%s: recorded %s has no %r" % (sid, verdict, key)
           for key in ("rule", "command", "transcript") if not entry.get(key)]
    todo = [key for key in ("rfc", "why")
            if (entry.get(key) or "").strip() in ("", TODO)]
    if todo:
        out.append("%s (%s on %s): %s still TODO: write %s" % (
            sid, entry.get("rule"), entry.get("command"), " and ".join(todo),
            " and ".join({"rfc": "the RFC text it violates (quoted, with its section)",
                          "why": "a one-line explanation"}[k] for k in todo)))
    elif cause_of(entry) is None:
        out.append("%s: the why does not begin with its cause (%s, then a colon)"
                   % (sid, ", ".join(CAUSES)))
    return out


def warning_problems(w):
    """What is missing from a recorded warning."""
    what = "warning %s" % describe_warning(w)
    if not w.get("rule") or not w.get("scenarios"):
        return ["%s: no rule or no scenarios" % what]
    todo = [key for key in ("rfc", "why") if (w.get(key) or "").strip() in ("", TODO)]
    if todo:
        return ["%s (%s): %s still TODO: write the RFC sentence (quoted, with its section) "
                "and a one-line why beginning with its cause" % (
                    what, ", ".join(w["scenarios"]), " and ".join(todo))]
    if cause_of(w) is None:
        return ["%s: the why does not begin with its cause (%s, then a colon)"
                % (what, ", ".join(CAUSES))]
    return []


def compare_warnings(expected, report):
    """Warnings of the run that are not recorded, and recorded ones the run
    did not show."""
    recorded = {warning_key(w): w for w in expected.get("warnings") or []}
    seen = observed_warnings(report)
    diffs = []
    for k in sorted(set(seen) - set(recorded), key=lambda k: warning_key_str(seen[k])):
        w = seen[k]
        diffs.append("warning %s: not recorded (%s: %s)" % (
            describe_warning(w), ", ".join(w["scenarios"]), w["reply"]))
    for k in sorted(set(recorded) - set(seen), key=lambda k: warning_key_str(recorded[k])):
        diffs.append("warning %s: recorded, but the run did not show it" % describe_warning(recorded[k]))
    return diffs


def compare(expected, report):
    """Differences between a recorded file and a fresh report, as a list of
    human-readable lines (empty: they agree)."""
    recorded = expected.get("scenarios", {})
    seen = {sc["id"]: sc for sc in report.get("scenarios", [])}
    diffs = []
    for sid in sorted(seen):
        sc = seen[sid]
        entry = recorded.get(sid)
        want = entry["verdict"] if entry else "pass"
        got = sc.get("verdict")
        if got != want:
            obs = observed_entry(sc) or {}
            how = ""
            if obs.get("rule"):
                how = " (%s on %s)" % (obs["rule"], obs["command"])
            elif obs.get("reason"):
                how = " (%s)" % obs["reason"]
            diffs.append("%s: recorded %s, now %s%s" % (sid, want, got, how))
            if got in ("fail", "error"):
                diffs += ["    " + ln for ln in (obs.get("transcript") or "").splitlines()]
        elif got in ("fail", "error") and not same_failure(entry, sc):
            found = error_violations(sc)
            diffs.append("%s: still %s, but not with %s on %s as recorded: now %s" % (
                sid, got, entry.get("rule"), entry.get("command"),
                ", ".join("%s on %s" % f for f in found) or sc.get("reason") or "?"))
    for sid in sorted(set(recorded) - set(seen)):
        diffs.append("%s: recorded %s, but no such scenario ran" % (sid, recorded[sid].get("verdict")))
    return diffs + compare_warnings(expected, report)


# ---------------------------------------------------------------------------
# re-recording


def merge(old, report, name):
    """New expected data for server NAME from REPORT, keeping the hand-written
    fields of OLD. Returns (data, notes)."""
    old_sc = old.get("scenarios", {})
    new_sc = {}
    notes = []
    for sc in report.get("scenarios", []):
        sid = sc["id"]
        obs = observed_entry(sc)
        prev = old_sc.get(sid)
        if obs is None:
            if prev is not None:
                notes.append("%s: now passes (was %s): entry removed" % (sid, prev.get("verdict")))
            continue
        if obs["verdict"] in ("skip", "inconclusive"):
            if prev is None or prev.get("verdict") != obs["verdict"]:
                notes.append("%s: now %s (%s)" % (sid, obs["verdict"], obs["reason"]))
            elif obs["verdict"] == "inconclusive" and prev.get("why"):
                obs["why"] = prev["why"]  # an optional hand-written note, kept
            new_sc[sid] = obs
            continue
        entry = dict(obs)
        if prev is not None and prev.get("verdict") == obs["verdict"]:
            # Same deviation, recorded already: keep the hand-written text,
            # and the recorded rule/command when the new one is a listed
            # alternative (a close seen as a reset, ...).
            for key in ("rfc", "why", "also"):
                if key in prev:
                    entry[key] = prev[key]
            if same_failure(prev, sc):
                entry["rule"], entry["command"] = prev.get("rule"), prev.get("command")
                if volatile_free(prev.get("transcript")) == volatile_free(entry["transcript"]):
                    entry["transcript"] = prev["transcript"]  # no churn from queue ids
            else:
                notes.append("%s: fails differently: %s on %s (was %s on %s); check its rfc/why"
                             % (sid, obs["rule"], obs["command"], prev.get("rule"),
                                prev.get("command")))
        else:
            if prev is not None:
                for key in ("rfc", "why"):
                    if prev.get(key) and prev.get(key) != TODO:
                        entry[key] = prev[key]
                notes.append("%s: now %s (was %s): %s on %s; check its rfc/why"
                             % (sid, obs["verdict"], prev.get("verdict"), obs["rule"], obs["command"]))
            else:
                notes.append("%s: NEW %s: %s on %s: write its rfc and why"
                             % (sid, obs["verdict"], obs["rule"], obs["command"]))
        entry.setdefault("rfc", TODO)
        entry.setdefault("why", TODO)
        new_sc[sid] = entry
    ran = {sc["id"] for sc in report.get("scenarios", [])}
    for sid in sorted(set(old_sc) - ran):
        notes.append("%s: no longer in the suite: entry removed" % sid)
    data = {k: v for k, v in old.items() if k != "scenarios"}
    data["server"] = name
    data["run"] = run_line(name)
    software = conformance_run.software_version(name)
    if software:
        data["software"] = software
    data["default"] = "pass: a scenario not listed here must pass"
    data["scenarios"] = new_sc
    data["warnings"] = merge_warnings(old.get("warnings") or [], report, notes)
    return data, notes


def merge_warnings(old, report, notes):
    """The run's warnings, keeping the rfc/why of those recorded already."""
    prev = {warning_key(w): w for w in old}
    seen = observed_warnings(report)
    out = []
    for k, w in seen.items():
        p = prev.get(k)
        for key in ("rfc", "why"):
            w[key] = (p or {}).get(key) or TODO
        if p is None:
            notes.append("warning %s: NEW (%s): write its rfc and why"
                         % (describe_warning(w), ", ".join(w["scenarios"])))
        out.append(w)
    for k in set(prev) - set(seen):
        notes.append("warning %s: no longer shown: removed" % describe_warning(prev[k]))
    return out


def summary(data):
    counts = {"fail": 0, "skip": 0, "error": 0, "inconclusive": 0}
    for e in data.get("scenarios", {}).values():
        counts[e.get("verdict")] = counts.get(e.get("verdict"), 0) + 1
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", action="append", choices=SERVER_NAMES,
                    help="only this server (repeatable; default all eight)")
    ap.add_argument("--report", action="append", default=[], metavar="NAME=PATH",
                    help="use this JSON report of a full-suite run instead of running")
    ap.add_argument("--check", action="store_true",
                    help="only compare the recorded files with the run; exit 1 on differences")
    ap.add_argument("--build", help="directory of smtpconform (default $SMTPCONFORM_BUILD or build)")
    args = ap.parse_args()

    reports = {}
    for spec in args.report:
        name, _, path = spec.partition("=")
        if name not in SERVER_NAMES or not path:
            ap.error("--report wants NAME=PATH with NAME one of %s" % ", ".join(SERVER_NAMES))
        with open(path, encoding="utf-8") as f:
            reports[name] = json.load(f)
    names = args.server or (sorted(reports) if reports else list(SERVER_NAMES))
    missing = [n for n in names if n not in reports]
    status = 0
    if missing:
        with tempfile.TemporaryDirectory(prefix="smtpconform-expected-") as tmp:
            written, problems = conformance_run.run_servers(missing, tmp, build=args.build)
            for p in problems:
                sys.stderr.write("update_expected: %s\n" % p)
                status = 1
            for name, path in written.items():
                with open(path, encoding="utf-8") as f:
                    reports[name] = json.load(f)

    for name in names:
        if name not in reports:
            continue
        report = reports[name]
        if report.get("interrupted"):
            sys.stderr.write("update_expected: the %s run was interrupted; not recorded\n" % name)
            status = 1
            continue
        old = load_expected(name)
        if args.check:
            diffs = compare(old, report)
            todo = [p for sid, e in sorted(old["scenarios"].items()) for p in entry_problems(sid, e)]
            todo += [p for w in old.get("warnings") or [] for p in warning_problems(w)]
            for line in diffs + todo:
                print("%s: %s" % (name, line))
            if diffs or todo:
                status = 1
            continue
        data, notes = merge(old, report, name)
        for line in notes:
            print("%s: %s" % (name, line))
        text = dump_expected(data)
        path = expected_path(name)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_expected(name, data)
        c = summary(data)
        todo = sum(1 for e in list(data["scenarios"].values()) + data["warnings"]
                   if TODO in (e.get("rfc"), e.get("why")))
        print("%s: %s recorded: %d fail, %d skip, %d error, %d inconclusive, %d warning%s%s" % (
            name, path.relative_to(E2E_DIR.parent.parent), c["fail"], c["skip"], c["error"],
            c["inconclusive"], len(data["warnings"]), "" if len(data["warnings"]) == 1 else "s",
            "; %d entr%s still TODO" % (todo, "y" if todo == 1 else "ies") if todo else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
