"""Selection and listing (issue 16 item 5): `list` and its filters, `run`
with the same filters, --rerun-failed, waiver globs, --shard auto, the
bundled suite found from anywhere and reused by @include."""

import json
import os
import shutil
import subprocess

import pytest

import servers

REPO = servers.REPO


def list_ids(*args):
    res = servers.run_harness(["list", "--format", "json"] + list(args), timeout=60)
    assert res.returncode == 0, res.describe()
    return [sc["id"] for sc in json.loads(res.stdout)]


def tagged(tag):
    """Ids of the bundled scenarios whose tags: header names tag (read from the files)."""
    ids = []
    for path in sorted((REPO / "scenarios").rglob("*.smtp")):
        if any(part.startswith("_") for part in path.relative_to(REPO / "scenarios").parts):
            continue
        headers = {}
        for line in path.read_text().splitlines():
            if ":" in line and line.split(":", 1)[0] in ("id", "tags"):
                key, value = line.split(":", 1)
                headers.setdefault(key, value.strip())
        tags = headers.get("tags", "").replace(",", " ").split()
        if tag in tags:
            ids.append(headers["id"])
    return sorted(ids)


def test_list_tag_smuggling_lists_the_smuggling_scenarios():
    ids = list_ids("--tag", "smuggling")
    assert ids and sorted(ids) == tagged("smuggling")
    text = servers.run_harness(["list", "--tag", "smuggling"], timeout=60)
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["ID", "LEVEL", "REF", "TAGS", "TITLE"]
    assert len(lines) == len(ids) + 1
    assert all(line.split()[0] in ids for line in lines[1:])


def test_list_json_fields_and_filters():
    res = servers.run_harness(["list", "--format", "json", "--id", "core.rcpt.*"], timeout=60)
    catalogue = json.loads(res.stdout)
    assert catalogue and all(sc["id"].startswith("core.rcpt.") for sc in catalogue)
    assert set(catalogue[0]) == {"id", "file", "level", "ref", "tags", "requires", "title"}
    assert all(sc["file"].startswith("scenarios/") for sc in catalogue)
    every = list_ids()
    must = list_ids("--level", "MUST")
    should = list_ids("--level", "should")
    assert must and should and not set(must) & set(should) and len(must) < len(every)
    # OR within one key, AND across keys.
    both = list_ids("--tag", "smuggling", "--tag", "relay")
    assert sorted(both) == sorted(tagged("smuggling") + tagged("relay"))
    assert list_ids("--tag", "smuggling", "--level", "MUST") == \
        [i for i in list_ids("--tag", "smuggling") if i in must]
    rfc3030 = list_ids("--rfc", "3030")
    assert rfc3030 and list_ids("--rfc", "RFC 3030") == rfc3030
    auth = list_ids("--requires", "AUTH")
    assert auth and set(list_ids("--requires", "AUTH=PLAIN")) < set(auth)


@pytest.mark.parametrize("argv", [["--level", "OFTEN"], ["--format", "xml"], ["--rfc", "x"]])
def test_list_usage_errors(argv):
    res = servers.run_harness(["list"] + argv, timeout=30)
    assert res.returncode == 2 and argv[0] in res.stderr, res.describe()


def run_json(target, tmp_path, name, extra, env=None):
    res = servers.run_harness(["run", "-t", target, "-j", "4", "--timeout", "3", "-q"]
                              + list(extra), json_report=tmp_path / (name + ".json"),
                              timeout=120, env=env)
    assert res.report is not None, res.describe()
    return res


def test_run_tag_smuggling_runs_only_them(fixture_server, tmp_path):
    res = run_json(fixture_server("reference").target, tmp_path, "smug", ["--tag", "smuggling"])
    assert res.returncode == 0, res.describe()
    assert sorted(sc["id"] for sc in res.report["scenarios"]) == tagged("smuggling")


def test_run_selection_matching_nothing_is_a_usage_error():
    res = servers.run_harness(["run", "-t", "127.0.0.1:9", "--tag", "no-such-tag"], timeout=30)
    assert res.returncode == 2 and "no scenario matches" in res.stderr, res.describe()


def test_rerun_failed_runs_only_what_failed(fixture_server, tmp_path):
    server = fixture_server("noop-251")
    first = run_json(server.target, tmp_path, "first", ["scenarios/core"])
    assert first.returncode == 1
    failed = sorted(sc["id"] for sc in first.report["scenarios"] if sc["verdict"] == "fail")
    assert failed and len(failed) < len(first.report["scenarios"])
    again = run_json(server.target, tmp_path, "again",
                     ["--rerun-failed", tmp_path / "first.json", "scenarios/core"])
    assert again.returncode == 1
    assert sorted(sc["id"] for sc in again.report["scenarios"]) == failed
    # Nothing failed: nothing to run, exit 0.
    clean = run_json(fixture_server("reference").target, tmp_path, "clean",
                     ["--rerun-failed", tmp_path / "again.json", "scenarios/core"])
    ok = run_json(fixture_server("reference").target, tmp_path, "ok",
                  ["--rerun-failed", tmp_path / "clean.json", "scenarios/core"])
    assert clean.report["summary"]["fail"] == 0
    assert ok.returncode == 0 and ok.report["scenarios"] == [] and "nothing failed" in ok.stderr
    bad = servers.run_harness(["run", "--rerun-failed", tmp_path / "missing.json"], timeout=30)
    assert bad.returncode == 2 and "missing.json" in bad.stderr


def test_waiver_globs_match_scenario_and_rule_ids(fixture_server, tmp_path):
    waivers = tmp_path / "waivers.txt"
    waivers.write_text("rule matrix.* -- every matrix rule\n"
                       "rule expect.c?de -- and the expected code\n"
                       "scenario relay.* -- a glob that matches nothing here is stale\n")
    res = run_json(fixture_server("noop-251").target, tmp_path, "w",
                   ["--baseline", waivers, "scenarios/core"])
    assert res.returncode == 0, res.describe()
    assert res.report["summary"]["fail"] == 0 and res.report["summary"]["waived"] > 0
    stale = res.report["baseline"]["stale"]
    assert len(stale) == 1 and "relay.*" in stale[0], stale
    # The scenario glob waives relay scenarios when they fail.
    waivers.write_text("scenario core.* -- the whole core family\n")
    res = run_json(fixture_server("noop-251").target, tmp_path, "s",
                   ["--baseline", waivers, "scenarios/core"])
    assert res.returncode == 0 and not res.report["baseline"]["stale"], res.describe()


def test_shard_auto_reads_the_ci_node_variables(fixture_server, tmp_path):
    target = fixture_server("reference").target
    every = set(list_ids("--id", "core.*"))
    parts = []
    for k in (1, 2):
        env = {"CI_NODE_INDEX": str(k), "CI_NODE_TOTAL": "2"}
        res = run_json(target, tmp_path, "shard%d" % k, ["--id", "core.*", "--shard", "auto"],
                       env=env)
        assert res.returncode == 0, res.describe()
        parts.append({sc["id"] for sc in res.report["scenarios"]})
    assert parts[0] and parts[1] and not parts[0] & parts[1] and parts[0] | parts[1] == every
    # Kubernetes: 0-based index, the total from the Job spec.
    k8s = run_json(target, tmp_path, "k8s", ["--id", "core.*", "--shard", "auto"],
                   env={"JOB_COMPLETION_INDEX": "1", "JOB_COMPLETIONS": "2"})
    assert {sc["id"] for sc in k8s.report["scenarios"]} == parts[1]
    bad = servers.run_harness(["run", "--shard", "auto"], timeout=30,
                              env={"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "2"})
    assert bad.returncode == 2 and "CI_NODE_INDEX=3" in bad.stderr, bad.describe()


def run_elsewhere(exe, args, cwd, env=None):
    run_env = {k: v for k, v in os.environ.items() if k != "SMTPCONFORM_SCENARIOS"}
    run_env.update(env or {})
    return subprocess.run([str(exe)] + [str(a) for a in args], cwd=str(cwd), env=run_env,
                          capture_output=True, text=True, timeout=120)


def test_bundled_suite_found_from_any_directory(fixture_server, tmp_path):
    exe = servers.binary_path("smtpconform")
    res = run_elsewhere(exe, ["run", "-t", fixture_server("reference").target, "-q", "-j", "4",
                              "--id", "core.noop.*", "--report", "json:out.json"], tmp_path)
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    files = [sc["file"] for sc in report["scenarios"]]
    assert files and all(f.startswith("scenarios/core/") for f in files), files


def test_copied_binary_uses_smtpconform_scenarios(tmp_path):
    exe = tmp_path / "bin" / "smtpconform"
    exe.parent.mkdir()
    shutil.copy(servers.binary_path("smtpconform"), exe)
    res = run_elsewhere(exe, ["list", "--format", "json"], tmp_path,
                        env={"SMTPCONFORM_SCENARIOS": str(REPO / "scenarios")})
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)) == len(list_ids())
    res = run_elsewhere(exe, ["list", "--scenarios-dir", tmp_path / "nope"], tmp_path)
    assert res.returncode == 2 and "nope" in res.stderr


def test_user_scenario_includes_the_bundled_openings(tmp_path):
    mine = tmp_path / "mine" / "noop.smtp"
    mine.parent.mkdir()
    mine.write_text("id: mine.noop\ntitle: NOOP after EHLO\nlevel: MUST\n"
                    "@include ehlo.smtp\nC: NOOP\nS: 250\nC: QUIT\nS: 221\n")
    res = run_elsewhere(servers.binary_path("smtpconform"), ["check", "mine"], tmp_path)
    assert res.returncode == 0 and "1 scenario OK" in res.stdout, res.stderr
