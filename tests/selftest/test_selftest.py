"""Tests of the mutation self-test itself: fixtures/gen_mutants.py (what it
generates) and tests/selftest/selftest.py (how it judges).

Run: /usr/bin/python3 -m pytest -q tests/selftest
The smtpfixture checks need build/smtpfixture ($SMTPCONFORM_BUILD).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures"))
sys.path.insert(0, str(ROOT / "tests" / "selftest"))

import gen_mutants  # noqa: E402
import matrix_tsv  # noqa: E402
import selftest  # noqa: E402

MATRIX = sorted(str(p) for p in (ROOT / "fixtures" / "matrix").glob("*.tsv"))
PROFILE = "rfc5321"


def build_dir():
    d = Path(os.environ.get("SMTPCONFORM_BUILD") or "build")
    return d if d.is_absolute() else ROOT / d


@pytest.fixture(scope="module")
def rows():
    return matrix_tsv.load(MATRIX)


@pytest.fixture(scope="module")
def mutants():
    return gen_mutants.generate(MATRIX, str(ROOT / "scenarios"), PROFILE,
                                gen_mutants.DEFAULT_SEED, gen_mutants.DEFAULT_TIMEOUT)


@pytest.fixture(scope="module")
def written(tmp_path_factory, mutants):
    out = tmp_path_factory.mktemp("mutants")
    gen_mutants.write(mutants, str(out), {"profile": PROFILE})
    return out


# ------------------------------------------------------------ generator

def test_every_family_and_the_brief_kinds_exist(mutants):
    kinds = {(m.family, m.kind) for m in mutants}
    assert {m.family for m in mutants} == set(gen_mutants.FAMILIES)
    for kind in ("rcpt-before-mail", "data-before-rcpt", "nested-mail", "mail-before-helo",
                 "after-quit", "greeting-554"):
        assert ("sequencing", kind) in kinds, kind
    for kind in ("multiline-code", "dash-last", "no-separator", "code-letter", "code-1-digit",
                 "code-2-digits", "code-4-digits", "first-digit-1", "first-digit-6",
                 "second-digit-6", "second-digit-7", "second-digit-8", "second-digit-9",
                 "bare-lf", "bare-cr", "nul", "line-513", "lines-100000", "unsolicited", "8bit"):
        assert ("syntax", kind) in kinds, kind
    for kind in ("no-greeting", "delayed", "drip", "close-mid-reply", "close-after-greeting",
                 "reset", "split-bytes", "no-close"):
        assert ("transport", kind) in kinds, kind


def test_code_family_has_every_command_of_the_profile(mutants, rows):
    """The done criterion: at least one code mutant per rfc5321 command
    (so the bundled suite must exercise every one of them)."""
    commands = set(matrix_tsv.commands(rows, PROFILE)) - {matrix_tsv.STAR}
    covered = {m.command for m in mutants if m.family == "code"}
    assert commands - covered == set(), "no scenario exercises these commands"


def test_code_mutants_are_exactly_the_codes_the_matrix_refuses(mutants, rows):
    by_cmd = {}
    for m in mutants:
        if m.family == "code":
            by_cmd.setdefault(m.command, set()).add(int(m.id.rsplit(".", 1)[1]))
    for cmd, codes in by_cmd.items():
        allowed = set(matrix_tsv.allowed_codes(rows, PROFILE, cmd))
        valid = set(gen_mutants.valid_codes())
        assert codes == valid - allowed, cmd
        assert all(c // 10 % 10 <= 5 and 200 <= c <= 559 for c in codes)


def test_reference_codes_are_allowed(rows):
    for cmd, code in gen_mutants.REFERENCE_CODE.items():
        assert matrix_tsv.lookup(rows, PROFILE, cmd, code) is not None, (cmd, code)


def test_generation_is_deterministic(tmp_path, mutants):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        again = gen_mutants.generate(MATRIX, str(ROOT / "scenarios"), PROFILE,
                                     gen_mutants.DEFAULT_SEED, gen_mutants.DEFAULT_TIMEOUT)
        gen_mutants.write(again, str(out), {"seed": gen_mutants.DEFAULT_SEED})
    assert (a / "manifest.tsv").read_bytes() == (b / "manifest.tsv").read_bytes()
    for rel in ("code/code.NOOP.251.beh", "syntax/syntax.EHLO.lines-100000.beh"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()


def test_fast_slice_covers_every_family_kind_and_command(mutants):
    fast = [m for m in mutants if m.fast]
    assert {m.family for m in fast} == set(gen_mutants.FAMILIES)
    assert {(m.family, m.kind) for m in fast} == {(m.family, m.kind) for m in mutants}
    for family in ("code", "syntax", "transport"):
        cmds = {m.command for m in mutants if m.family == family and m.command != "*"}
        assert cmds <= {m.command for m in fast if m.family == family}, family
    assert len(fast) < len(mutants) / 10


def test_expected_rules_are_documented(mutants):
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    rules = {r for m in mutants if m.expect != "pass" for r, _ in m.expect}
    for rule in rules:
        assert "`%s`" % rule in doc, "%s is not in docs/rules.md" % rule


def test_every_rule_id_has_a_mutant(mutants):
    """Issue 11: every rule of the rule table (docs/rules.md, generated from
    harness/rules.c) is named by some mutant's expected rules."""
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"^\| `([a-z0-9-]+\.[a-z0-9.-]+)` \|", doc, re.M))
    assert len(ids) > 40, "rule table not found in docs/rules.md"
    named = {r for m in mutants if m.expect != "pass" for r, _ in m.expect}
    assert sorted(ids - named) == []


def test_manifest_round_trip(written, mutants):
    recs = gen_mutants.read_manifest(str(written / "manifest.tsv"))
    assert [r["id"] for r in recs] == [m.id for m in mutants]
    byid = {m.id: m for m in mutants}
    for r in recs:
        m = byid[r["id"]]
        assert r["expect"] == (m.expect if m.expect == "pass" else [tuple(e) for e in m.expect])
        assert (written / r["file"]).is_file()


def test_scan_sees_connect_data_end_and_raw_verbs(tmp_path):
    lib = tmp_path / "_lib"
    lib.mkdir()
    (lib / "hello.smtp").write_text("S: 220\nC: EHLO x\nS: 250\n")
    sc = tmp_path / "a.smtp"
    sc.write_text("id: t.a\nrequires: PIPELINING\n@include hello.smtp\nC: MAIL FROM:<a@b>\n"
                  "S: 250\nC: DATA\nS: 354\nD: x\nS: 250\n"
                  'R: "RCPT TO:<a@b>\\r\\nNOOP\\r\\n"\nS: *\nS: *\nC: xyzzy 1\nS: 500\n')
    info = gen_mutants.scan_scenario(str(sc))
    assert info.id == "t.a" and info.requires == ["PIPELINING"]
    # an R: string counts as its first verb: the harness judges every reply to it so
    assert info.commands == {"CONNECT", "EHLO", "MAIL", "DATA", "DATA-END", "RCPT", "XYZZY"}
    assert ("XYZZY", "XYZZY") in info.fixture_verbs
    # an R: right after DATA's 354 is message content: its reply ends the data
    sc.write_text("id: t.b\n@include hello.smtp\nC: DATA\nS: 354\n"
                  'R: "Subject: x\\r\\n\\r\\nbody\\r\\n.\\r\\n"\nS: 250\n')
    info = gen_mutants.scan_scenario(str(sc))
    assert info.commands == {"CONNECT", "EHLO", "DATA", "DATA-END"}


# ------------------------------------------------------------ fixture accepts every table

def test_smtpfixture_loads_one_table_of_every_kind(written):
    binary = build_dir() / "smtpfixture"
    if not binary.exists():
        pytest.skip("%s not built" % binary)
    seen = set()
    for rec in gen_mutants.read_manifest(str(written / "manifest.tsv")):
        key = (rec["family"], rec["kind"], rec["command"] == "UNKNOWN")
        if key in seen:
            continue
        seen.add(key)
        fx = selftest.Fixture(str(binary), str(written / rec["file"]))
        fx.stop()
        assert fx.port, rec["id"]


# ------------------------------------------------------------ judging

REPORT = {"scenarios": [
    {"id": "a", "file": "scenarios/core/a.smtp", "verdict": "fail", "steps": [
        {"command": "CONNECT", "verdict": "pass", "violations": []},
        {"command": "NOOP", "verdict": "fail", "violations": [
            {"rule": "matrix.not-allowed", "severity": "error"},
            {"rule": "expect.code", "severity": "error"}]}]},
    {"id": "b", "file": "scenarios/core/b.smtp", "verdict": "fail", "steps": [
        {"command": "RCPT", "verdict": "fail", "violations": [
            {"rule": "expect.code", "severity": "error"}]}]},
    {"id": "c", "file": "scenarios/core/c.smtp", "verdict": "pass", "steps": [
        {"command": "HELP", "verdict": "pass", "violations": [
            {"rule": "matrix.nonstandard", "severity": "warn"}]}]},
]}


def test_failed_rules_and_matching():
    seen = selftest.failed_rules(REPORT)
    assert seen == {("matrix.not-allowed", "NOOP"), ("expect.code", "NOOP"),
                    ("expect.code", "RCPT")}
    assert selftest.matches([("matrix.not-allowed", "NOOP")], seen)
    assert not selftest.matches([("matrix.not-allowed", "RCPT")], seen)
    assert selftest.matches([("expect.code", "*")], seen)
    assert not selftest.matches([("matrix.nonstandard", "HELP")], seen)  # warn, passing step


def test_reference_failures_do_not_kill():
    """A scenario that fails against the reference too is no evidence."""
    seen = selftest.failed_rules(REPORT, ignore={"b"})
    assert not selftest.matches([("expect.code", "RCPT")], seen)
    assert selftest.killing_files(REPORT, [("expect.code", "*")], ignore={"b"}) == \
        {"scenarios/core/a.smtp"}


def test_equivalent_list_is_well_formed(mutants):
    eq = selftest.read_equivalent(selftest.EQUIVALENT)
    ids = {m.id for m in mutants}
    assert set(eq) <= ids, "entries that are no generated mutant: %s" % (set(eq) - ids)
    for mid, reason in eq.items():
        assert len(reason) > 40 and re.search(r"RFC \d+", reason), mid
        m = next(x for x in mutants if x.id == mid)
        assert m.expect != "pass", mid


def test_read_equivalent_rejects_bad_lines(tmp_path):
    p = tmp_path / "eq.tsv"
    p.write_text("# comment\nonly-an-id\n")
    with pytest.raises(selftest.SetupError):
        selftest.read_equivalent(str(p))
    p.write_text("a\treason\na\tagain\n")
    with pytest.raises(selftest.SetupError):
        selftest.read_equivalent(str(p))


def test_fast_selftest_end_to_end(tmp_path, written):
    """The runner on a tiny selection: the reference passes, a code mutant
    is killed, the control passes, the summary says PASS."""
    if not (build_dir() / "smtpconform").exists():
        pytest.skip("binaries not built")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "selftest" / "selftest.py"),
         "--build", str(build_dir()), "--mutants", str(written), "--scenarios", "scenarios/core",
         "--only", r"^(code\.NOOP\.251|transport\.split-bytes|sequencing\.nested-mail)$",
         "--summary", str(tmp_path / "s.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    # the equivalent entries are not in this selection, the rest must pass
    assert "killed" in out and "controls (conformant variations that must pass): 1 / 1" in out, \
        out + proc.stderr
    assert re.search(r"^code\s+1\s+0\s+1\s+0\s+100\.0%$", out, re.M), out


def test_certificate_mutants_end_to_end(tmp_path, written):
    """VERIFY_KINDS: run with --tls-verify require against the run's
    certificate, the fixture that presents a second one is killed with
    tls.certificate-untrusted on STARTTLS, the one that presents the trusted
    one passes."""
    if not (build_dir() / "smtpconform").exists():
        pytest.skip("binaries not built")
    summary = tmp_path / "s.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "selftest" / "selftest.py"),
         "--build", str(build_dir()), "--mutants", str(written), "--scenarios", "scenarios/tls",
         "--only", r"^rules\.certificate-(un)?trusted$", "--summary", str(summary)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "controls (conformant variations that must pass): 1 / 1" in out, out
    assert re.search(r"^rules\s+1\s+0\s+1\s+0\s+100\.0%$", out, re.M), out


def test_regex_limit_mutants_end_to_end(tmp_path, written):
    """SCENARIO_KINDS: the regex-limit kinds run their own scenario; the
    fixture that answers NOOP with a's is killed with expect.regex-limit,
    the reference reply passes it."""
    if not (build_dir() / "smtpconform").exists():
        pytest.skip("binaries not built")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "selftest" / "selftest.py"),
         "--build", str(build_dir()), "--mutants", str(written), "--scenarios", "scenarios/rfc821",
         "--only", r"^rules\.regex-limit(-control)?$", "--summary", str(tmp_path / "s.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "controls (conformant variations that must pass): 1 / 1" in out, out
    assert re.search(r"^rules\s+1\s+0\s+1\s+0\s+100\.0%$", out, re.M), out
