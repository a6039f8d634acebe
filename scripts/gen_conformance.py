#!/usr/bin/env python3
"""gen_conformance.py - writes docs/conformance.md from the suite and JSON reports.

    scripts/gen_conformance.py --out docs/conformance.md \
        --report postfix=reports/conformance-postfix.json \
        --report aiosmtpd=reports/conformance-aiosmtpd.json \
        --report opensmtpd=reports/conformance-opensmtpd.json \
        [--expected tests/e2e/expected] [scenarios/]

Everything in the output is generated, never written by hand:
1. what the suite checks: scenarios per RFC section and level (from each
   scenario's ref: and level: headers), and per directory;
2. what each real server got (from the JSON reports), side by side: a
   summary per server (pass, MUST/SHOULD/MAY failed, inconclusive and why,
   skipped), failures per rule, and every scenario grouped by RFC and
   level with one column per server (name and version) whose cell is pass,
   skip, fail (the recorded cause is the software) or inconclusive (the
   configuration or the test set-up), linked to the finding, its why as
   the link title; the skip reasons;
3. with --expected, per server the recorded deviations of
   tests/e2e/expected/SERVER.json: cause and why, and the RFC text
   violated; a verdict in a report that differs from the recorded one is
   flagged. Warnings (SHOULD findings: the scenario passes, --strict fails
   it) are listed the same way, and a passing cell that has one says so.
Stdlib only; the output depends only on the inputs (the only date is the
day the reports say the runs started; no ports or durations), so
regenerating from the same runs gives the same file.
"""
import argparse
import json
import os
import re
import sys
from collections import defaultdict

HEADER_RE = re.compile(r"^([A-Za-z]+):\s*(.*)$")
STEP_RE = re.compile(r"^(C|S|D|R):|^@include\b")
LEVELS = ("MUST", "SHOULD", "MAY")


def read_headers(path):
    """The header lines of a scenario file (before its first step)."""
    headers = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if STEP_RE.match(line):
                break
            m = HEADER_RE.match(line)
            if m:
                headers[m.group(1).lower()] = m.group(2).strip()
    return headers


def collect(root):
    """(id, headers, directory) of every scenario under root, sorted by path."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(("_", ".")))
        for name in sorted(filenames):
            if name.endswith(".smtp") and not name.startswith(("_", ".")):
                path = os.path.join(dirpath, name)
                h = read_headers(path)
                rel = os.path.relpath(path, root)[:-5].replace(os.sep, ".")
                top = os.path.relpath(dirpath, root).split(os.sep)[0]
                out.append((h.get("id", rel), h, "" if top == "." else top))
    return out


def rfc_key(ref):
    """'RFC 5321 4.1.1.1, 4.1.4' -> ('RFC 5321', '4.1.1.1'): the first section
    of the first RFC named; sections sort numerically."""
    m = re.match(r"\s*(RFC\s*\d+)\s*(.*)", ref or "")
    if not m:
        return ("(no RFC)", ref or "")
    return (re.sub(r"\s+", " ", m.group(1)), m.group(2).split(",")[0].split(";")[0].strip())


def rfc_sort(rfc):
    m = re.search(r"\d+", rfc)
    return (int(m.group()) if m else 1 << 30, rfc)


def section_sort(sec):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\s]", sec) if p]


def md(s):
    """Plain text for Markdown, on one line: backslashes, "*", "<" and "|"
    escaped (so "<CRLF>" is not taken for an HTML tag, "1*20DIGIT" not for
    emphasis, and a pipe does not end a table cell)."""
    s = (s or "").replace("\n", " ")
    return re.sub(r"([\\*<|`])", r"\\\1", s)


def code(s):
    """Inline code that survives backticks in the text."""
    s = (s or "").replace("\n", " ")
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return "%s%s%s%s%s" % (fence, pad, s, pad, fence)


def errors_of(sc):
    return [(v.get("rule"), st.get("command"))
            for st in sc.get("steps") or []
            for v in st.get("violations") or [] if v.get("severity") == "error"]


def first_failure(sc):
    found = errors_of(sc)
    if found:
        return "%s on %s" % found[0]
    return sc.get("reason") or ""


def same_failure(entry, sc):
    wanted = [(entry.get("rule"), entry.get("command"))]
    wanted += [(a.get("rule"), a.get("command")) for a in entry.get("also") or []]
    found = set(errors_of(sc))
    return any(w in found for w in wanted)


def load_expected(directory, name):
    if not directory:
        return None
    path = os.path.join(directory, "%s.json" % name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def suite_tables(scenarios):
    lines = []
    by_section = defaultdict(lambda: defaultdict(int))
    by_dir = defaultdict(lambda: defaultdict(int))
    for _, h, top in scenarios:
        level = (h.get("level") or "-").upper()
        by_section[rfc_key(h.get("ref"))][level] += 1
        by_dir[top][level] += 1
    totals = defaultdict(int)
    for _, h, _ in scenarios:
        totals[(h.get("level") or "-").upper()] += 1

    lines += ["## What the suite checks", "",
              "%d scenarios (%s). Every reply is also checked against the reply-code matrix "
              "and the reply syntax rules (docs/rules.md), whatever the scenario expects." % (
                  len(scenarios), ", ".join("%d %s" % (totals[lv], lv) for lv in LEVELS)), "",
              "### By RFC section and requirement level", "",
              "The section is the first one a scenario's `ref:` header names.", "",
              "| RFC | section | MUST | SHOULD | MAY | total |", "|---|---|---|---|---|---|"]
    for (rfc, sec) in sorted(by_section, key=lambda k: (rfc_sort(k[0]), section_sort(k[1]))):
        c = by_section[(rfc, sec)]
        lines.append("| %s | %s | %d | %d | %d | %d |" % (rfc, md(sec) or "-", c["MUST"],
                     c["SHOULD"], c["MAY"], sum(c.values())))
    lines += ["", "### By directory", "",
              "| directory | MUST | SHOULD | MAY | total |", "|---|---|---|---|---|"]
    for top in sorted(by_dir):
        c = by_dir[top]
        lines.append("| `%s/` | %d | %d | %d | %d |" % (top or ".", c["MUST"], c["SHOULD"], c["MAY"],
                                                        sum(c.values())))
    lines.append("")
    return lines


CAUSE_RE = re.compile(r"(Software|Configuration|Test)\b[^:]*:")


def cause_of(entry):
    """The cause a recorded failure's why begins with (tests/e2e/README.md):
    Software, Configuration or Test; None when it names none."""
    m = CAUSE_RE.match(((entry or {}).get("why") or "").strip())
    return m.group(1) if m else None


def anchor(name, sid):
    return "%s-%s" % (name, re.sub(r"[^a-z0-9-]", "-", sid.lower()))


def outcome(sc, entry):
    """pass, skip, fail (the software) or inconclusive (the configuration or
    the test set-up, an error, or a failure nobody has judged yet)."""
    v = sc["verdict"]
    if v in ("pass", "skip"):
        return v
    if v == "fail" and cause_of(entry) == "Software" and same_failure(entry, sc):
        return "fail"
    return "inconclusive"


def setup_cause(reason):
    """An inconclusive verdict's reason without the scenario's own part
    ("not tested: TITLE"), so that one cause is counted once."""
    reason = re.sub(r"; not tested: .*?; ", "; ", reason or "")
    # "session: VRFY x answered with 530 (...)": the cause, not the command
    return re.sub(r"^(setup|session): .*? (?:answered with \d{3}|refused) \(", r"\1: a command got (",
                  reason)


def short_version(software):
    """'postfix 3.7.11-0+deb12u1' -> '3.7.11'; 'Haraka 3.1.1' -> '3.1.1'."""
    m = re.search(r"(?:\d+:)?(\d+(?:\.\d+)+)", software or "")
    return m.group(1) if m else "?"


def warning_anchor(name, w):
    return anchor(name, "warn-%s-%s-%s" % (w.get("rule"), w.get("command"), w.get("code")))


def run_warnings(report):
    """The report's warning findings (verdict "warn"), one per rule, command
    and code (the key tests/e2e/update_expected.py records them by)."""
    out = {}
    for f in report.get("findings") or []:
        if f.get("verdict") == "warn":
            k = (f.get("rule"), f.get("command"), f.get("code"))
            w = out.setdefault(k, {"rule": k[0], "command": k[1], "code": k[2],
                                   "scenarios": set(), "message": f.get("message") or ""})
            w["scenarios"] |= set(f.get("scenarios") or [])
    return out


def recorded_warnings(exp):
    return {(w.get("rule"), w.get("command"), w.get("code")): w
            for w in (exp or {}).get("warnings") or []}


def describe_warning(w):
    return "%s on %s%s" % (code(w.get("rule")), w.get("command") or "-",
                           " (%s)" % w["code"] if w.get("code") is not None else "")


LEVEL_RANK = {"MUST": 0, "SHOULD": 1, "MAY": 2}


def failing_levels(report):
    """Scenario id -> the strongest level of the findings that failed it: a
    finding carries the level of the RFC sentence it enforces, so a MUST
    finding fails a SHOULD scenario as a MUST."""
    out = {}
    for f in report.get("findings") or []:
        lv = (f.get("level") or "").upper()
        if f.get("verdict") != "fail" or lv not in LEVEL_RANK:
            continue
        for sid in f.get("scenarios") or []:
            if sid not in out or LEVEL_RANK[lv] < LEVEL_RANK[out[sid]]:
                out[sid] = lv
    return out


def results_tables(scenarios, reports, expected_dir):
    levels = {i: (h.get("level") or "-").upper() for i, h, _ in scenarios}
    refs = {i: h.get("ref") or "" for i, h, _ in scenarios}
    titles = {i: h.get("title") or "" for i, h, _ in scenarios}
    expected = {name: (load_expected(expected_dir, name) or {}) for name, _ in reports}
    verdicts = {}
    for name, r in reports:
        for sc in r["scenarios"]:
            verdicts[(sc["id"], name)] = sc

    def entry(sid, name):
        return expected[name].get("scenarios", {}).get(sid)

    lines = ["## Results per server", "",
             "Each server ran the whole suite once (`make conformance`: "
             "`smtpconform run --timeout 5 -j 8 --var domain=HOSTNAME scenarios`, profile "
             "rfc5321, the server set up as in tests/e2e/README.md; Sendmail with "
             "`--timeout 15`, Dovecot's submission service with `--auth-user`).", "",
             "A verdict is **fail** when the recorded cause is the software, "
             "*inconclusive* when the result comes from the configuration or the test set-up "
             "(or the scenario could not run), skip when the server does not offer what the "
             "scenario needs. Every fail and inconclusive links to its finding below: what the "
             "server did, why, and the RFC text.", "",
             "### Summary", "",
             "*fail: MUST* and the like: the level of the RFC sentence the failing finding "
             "enforces (a MUST finding fails a SHOULD scenario as a MUST; the scenario's own "
             "level where no finding says).", "",
             "*warning* after pass: the scenario passed, but a reply broke a SHOULD of the RFCs "
             "(a run fails on it only with `--strict`); the summary counts them as findings, "
             "one per rule, command and reply code, however many scenarios showed it.", "",
             "| server | software | pass | fail: MUST | fail: SHOULD | fail: MAY | inconclusive "
             "| skip | warnings |",
             "|---|---|---|---|---|---|---|---|---|"]
    inconclusive_why = []
    for name, r in reports:
        counts = defaultdict(int)
        causes = defaultdict(int)
        failed_as = failing_levels(r)
        for sc in r["scenarios"]:
            e = entry(sc["id"], name)
            o = outcome(sc, e)
            if o == "fail":
                counts["fail " + failed_as.get(sc["id"], levels.get(sc["id"], "-"))] += 1
            else:
                counts[o] += 1
            if o == "inconclusive":
                why = (e or {}).get("why") or setup_cause(sc.get("reason")) or "not judged yet"
                causes[why] += 1
        lines.append("| %s | %s | %d | %d | %d | %d | %d | %d | %d |" % (
            name, md(expected[name].get("software") or "-"), counts["pass"],
            counts["fail MUST"], counts["fail SHOULD"], counts["fail MAY"],
            counts["inconclusive"], counts["skip"], len(run_warnings(r))))
        for why in sorted(causes, key=lambda w: (-causes[w], w)):
            inconclusive_why.append("| %s | %d | %s |" % (name, causes[why], md(why)))
    lines.append("")
    if any(r.get("interrupted") for _, r in reports):
        lines += ["**Some runs were interrupted: their results are partial.**", ""]
    lines += ["Why the inconclusive ones are inconclusive:", "",
              "| server | scenarios | why |", "|---|---|---|"] + inconclusive_why + [""]

    # Rules: how many scenarios each rule made fail, per server.
    rules = defaultdict(lambda: defaultdict(int))
    for (sid, name), sc in verdicts.items():
        o = outcome(sc, entry(sid, name))
        if o in ("fail", "inconclusive") and errors_of(sc):
            rules[errors_of(sc)[0][0]][name] += 1
    lines += ["### By rule", "",
              "Scenarios whose first error is this rule (rule ids: docs/rules.md), as "
              "fail / inconclusive counts.", "",
              "| rule | " + " | ".join(n for n, _ in reports) + " |",
              "|---|" + "---|" * len(reports)]
    for rule in sorted(rules):
        cells = []
        for n, _ in reports:
            f = sum(1 for (sid, nn), sc in verdicts.items() if nn == n and errors_of(sc)
                    and errors_of(sc)[0][0] == rule and outcome(sc, entry(sid, n)) == "fail")
            i = rules[rule][n] - f
            cells.append("-" if not rules[rule][n] else "%d / %d" % (f, i))
        lines.append("| `%s` | %s |" % (rule, " | ".join(cells)))
    lines.append("")

    # Warnings by scenario: (anchor, title) of each, per server.
    warned = defaultdict(list)
    for name, r in reports:
        known = recorded_warnings(expected[name])
        for k, w in sorted(run_warnings(r).items(), key=lambda kv: str(kv[0])):
            why = ((known.get(k) or {}).get("why") or w["message"]).strip()
            title = why.replace("\n", " ").replace('"', "'").replace("|", "\\|")
            for sid in sorted(w["scenarios"]):
                warned[(sid, name)].append((warning_anchor(name, w), title))

    # Every scenario, grouped by RFC, then level.
    header = " | ".join("%s %s" % (n, short_version(expected[n].get("software")))
                        for n, _ in reports)
    lines += ["### Scenario by scenario", "",
              "Grouped by the first RFC a scenario's `ref:` names, then by level.", ""]
    groups = defaultdict(list)
    for sid, _, _ in scenarios:
        groups[rfc_key(refs.get(sid))[0]].append(sid)
    for rfc in sorted(groups, key=rfc_sort):
        lines += ["#### %s" % rfc, "",
                  "| scenario | level | section | " + header + " |",
                  "|---|---|---|" + "---|" * len(reports)]
        order = {lv: k for k, lv in enumerate(LEVELS)}
        for sid in sorted(groups[rfc], key=lambda i: (order.get(levels.get(i), 9),
                                                      section_sort(rfc_key(refs.get(i))[1]), i)):
            cells = []
            for n, _ in reports:
                sc = verdicts.get((sid, n))
                if not sc:
                    cells.append("-")
                    continue
                e = entry(sid, n)
                o = outcome(sc, e)
                # The link's title (a tooltip) is the finding's one-line why.
                why = ((e or {}).get("why") or sc.get("reason") or first_failure(sc)).strip()
                title = why.replace("\n", " ").replace('"', "'").replace("|", "\\|")
                if o == "fail":
                    cells.append('[**fail**](#%s "%s")' % (anchor(n, sid), title))
                elif o == "inconclusive":
                    cells.append('[*inconclusive*](#%s "%s")' % (anchor(n, sid), title))
                else:
                    cells.append(o + "".join(', [*warning*](#%s "%s")' % (a, t)
                                             for a, t in warned.get((sid, n), [])))
            lines.append("| `%s` %s | %s | %s | %s |" % (
                sid, md(titles.get(sid)), levels.get(sid), md(rfc_key(refs.get(sid))[1]) or "-",
                " | ".join(cells)))
        lines.append("")

    lines += ["### Skipped scenarios", "",
              "A scenario that needs an extension the server does not offer (`requires:`) is "
              "skipped.", "", "| server | skipped | why |", "|---|---|---|"]
    for name, r in reports:
        reasons = defaultdict(int)
        for sc in r["scenarios"]:
            if sc["verdict"] == "skip":
                reasons[sc.get("reason") or "?"] += 1
        for reason in sorted(reasons, key=lambda x: (-reasons[x], x)):
            lines.append("| %s | %d | %s |" % (name, reasons[reason], md(reason)))
    lines.append("")
    return lines


def deviation_sections(scenarios, reports, expected_dir):
    levels = {i: (h.get("level") or "") for i, h, _ in scenarios}
    lines = ["## Findings per server", "",
             "Every failure recorded in `tests/e2e/expected/SERVER.json`: its cause "
             "(software, configuration or test), what the server did and why, and the RFC "
             "text.", ""]
    for name, r in reports:
        exp = load_expected(expected_dir, name)
        if exp is None:
            continue
        recorded = exp.get("scenarios", {})
        seen = {sc["id"]: sc for sc in r["scenarios"]}
        failed_as = failing_levels(r)
        fails = sorted(sid for sid, e in recorded.items() if e.get("verdict") in ("fail", "error"))
        lines += ["### Deviations of %s" % name, "",
                  "%d recorded in `tests/e2e/expected/%s.json` (%s): what the server did, why it "
                  "is a deviation, and the text it violates." % (
                      len(fails), name, md(exp.get("software") or "version not recorded")), ""]
        off = []
        for sid, sc in sorted(seen.items()):
            e = recorded.get(sid)
            want = e.get("verdict") if e else "pass"
            if sc["verdict"] != want:
                off.append("`%s` (recorded %s, this run %s)" % (sid, want, sc["verdict"]))
            elif e and want in ("fail", "error") and not same_failure(e, sc):
                off.append("`%s` (recorded %s on %s, this run %s)" % (
                    sid, e.get("rule"), e.get("command"), first_failure(sc)))
        if off:
            lines += ["**This run differs from the recorded verdicts:** " + "; ".join(off) + ".", ""]
        for sid in fails:
            e = recorded[sid]
            lines.append('- <a id="%s"></a>`%s` (%s): %s on %s. %s' % (
                anchor(name, sid), sid, failed_as.get(sid) or levels.get(sid) or "-",
                code(e.get("rule")),
                e.get("command"), md((e.get("why") or "").strip())))
            rfc = (e.get("rfc") or "").strip()
            if rfc:
                lines.append("  > %s" % md(rfc))
        warns = recorded_warnings(exp)
        seen_warns = run_warnings(r)
        if warns or seen_warns:
            lines += ["", "Warnings of %s (SHOULD findings: the scenarios pass; `--strict` "
                      "fails them):" % name, ""]
        for k in sorted(set(warns) | set(seen_warns), key=str):
            w = warns.get(k) or dict(seen_warns[k], why="not judged yet: " + seen_warns[k]["message"])
            sids = sorted(set(w.get("scenarios") or []) | set((seen_warns.get(k) or {}).get(
                "scenarios") or []))
            flag = "" if k in seen_warns else " **(recorded, not in this run)**"
            lines.append('- <a id="%s"></a>%s%s, in %s. %s' % (
                warning_anchor(name, w), describe_warning(w), flag,
                ", ".join(code(x) for x in sids), md((w.get("why") or "").strip())))
            rfc = (w.get("rfc") or "").strip()
            if rfc:
                lines.append("  > %s" % md(rfc))
        unsure = sorted(sid for sid, e in recorded.items() if e.get("verdict") == "inconclusive")
        if unsure:
            lines += ["", "Inconclusive on %s (a setup step or a precondition did not hold: "
                      "nothing was tested):" % name, ""]
        for sid in unsure:
            lines.append('- <a id="%s"></a>`%s`: %s' % (
                anchor(name, sid), sid, md((recorded[sid].get("reason") or "").strip())))
        lines.append("")
    return lines


def run_date(reports):
    """The day of the latest run (its report's "started"), e.g. 2026-12-03."""
    days = sorted((r.get("started") or "")[:10] for _, r in reports if r.get("started"))
    return days[-1] if days else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--expected", metavar="DIR",
                    help="directory of the recorded deviations (tests/e2e/expected)")
    ap.add_argument("suite", nargs="?", default="scenarios")
    args = ap.parse_args()

    scenarios = collect(args.suite)
    reports = []
    for spec in args.report:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit("gen_conformance: --report wants NAME=PATH, got %r" % spec)
        with open(path, encoding="utf-8") as f:
            reports.append((name, json.load(f)))

    lines = ["# Conformance: what the suite checks and what real servers got", "",
             "Generated by `scripts/gen_conformance.py` (`make conformance`) from the",
             "scenario headers, the JSON reports of runs against real servers and the",
             "recorded deviations in `tests/e2e/expected/`. Do not edit by hand.", ""]
    if reports:
        lines += ["Runs of %s against %s." % (run_date(reports) or "an unknown date",
                                             ", ".join(n for n, _ in reports)), ""]
    lines += suite_tables(scenarios)
    if reports:
        lines += results_tables(scenarios, reports, args.expected)
        lines += deviation_sections(scenarios, reports, args.expected)

    text = "\n".join(lines).rstrip("\n") + "\n"
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
