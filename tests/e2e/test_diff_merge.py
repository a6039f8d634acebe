"""Shards, merge, report --from and diff on real runs (issue 6 items 4-5):
the bundled suite against the fixture server, split with --shard and joined
with merge, must equal one whole run; diff must name exactly what a mutant
breaks and exit 1 for it."""

import json

import servers

SUITE = "scenarios"


def run(target, tmp_path, name, extra=()):
    res = servers.run_harness(["run", "-t", target, "-j", "8", "--timeout", "3", "-q"] + list(extra)
                              + [SUITE], json_report=tmp_path / (name + ".json"), timeout=120)
    assert res.report is not None, res.describe()
    return res


def harness(args):
    return servers.run_harness(args, timeout=60)


def test_shards_merge_to_the_whole_run(fixture_server, tmp_path):
    srv = fixture_server("reference")
    whole = run(srv.target, tmp_path, "whole").report
    parts = []
    for k in (1, 2, 3):
        parts.append(run(srv.target, tmp_path, "s%d" % k, ["--shard", "%d/3" % k]).report)
    ids = [sc["id"] for p in parts for sc in p["scenarios"]]
    assert len(ids) == len(set(ids)), "a scenario ran in two shards"
    assert sorted(ids) == sorted(sc["id"] for sc in whole["scenarios"])
    assert all(p["scenarios"] for p in parts), "a shard is empty"
    merged = tmp_path / "merged.json"
    res = harness(["merge"] + [str(tmp_path / ("s%d.json" % k)) for k in (1, 2, 3)]
                  + ["--report", "json:%s" % merged])
    assert res.returncode == 0, res.describe()
    m = json.loads(merged.read_text())
    assert m["summary"] == whole["summary"]
    assert {sc["id"]: sc["verdict"] for sc in m["scenarios"]} == \
        {sc["id"]: sc["verdict"] for sc in whole["scenarios"]}
    # Every format renders again from the merged JSON.
    xml = tmp_path / "m.xml"
    res = harness(["report", "--from", str(merged), "--report", "junit:%s" % xml,
                   "--report", "text:%s" % (tmp_path / "m.txt")])
    assert res.returncode == 0, res.describe()
    assert xml.read_text().count("<testcase ") == whole["summary"]["total"]
    # A shard twice is refused.
    res = harness(["merge", str(tmp_path / "s1.json"), str(tmp_path / "s1.json")])
    assert res.returncode == 2 and "in shard 1 and shard 2" in res.stderr, res.describe()


def test_diff_names_what_regressed(fixture_server, tmp_path):
    good = run(fixture_server("reference").target, tmp_path, "good").report
    bad = run(fixture_server("noop-251").target, tmp_path, "bad").report
    failed = sorted(sc["id"] for sc in bad["scenarios"] if sc["verdict"] == "fail")
    assert failed, "noop-251 should fail some scenarios"
    res = harness(["diff", str(tmp_path / "good.json"), str(tmp_path / "bad.json")])
    assert res.returncode == 1, res.describe()
    assert "%d regressed, 0 fixed" % len(failed) in res.stdout, res.stdout
    for sid in failed:
        assert sid in res.stdout
    assert "matrix.not-allowed on NOOP" in res.stdout
    # The other way round nothing regressed: exit 0, all fixed, in Markdown.
    res = harness(["diff", "--md", str(tmp_path / "bad.json"), str(tmp_path / "good.json")])
    assert res.returncode == 0, res.describe()
    assert "### Fixed (%d)" % len(failed) in res.stdout
    # Same run twice: nothing at all.
    res = harness(["diff", str(tmp_path / "good.json"), str(tmp_path / "good.json")])
    assert res.returncode == 0 and "0 regressed, 0 fixed, 0 changed" in res.stdout


def test_bad_inputs_exit_2(tmp_path):
    not_json = tmp_path / "x.json"
    not_json.write_text("{nope")
    res = harness(["diff", str(not_json), str(not_json)])
    assert res.returncode == 2 and "x.json:1:" in res.stderr, res.describe()
    res = harness(["report", "--from", str(tmp_path / "missing.json")])
    assert res.returncode == 2 and "missing.json" in res.stderr, res.describe()
    res = harness(["run", "--shard", "4/3", "scenarios/core"])
    assert res.returncode == 2, res.describe()


def test_report_and_merge_exit_with_the_run_verdict(fixture_server, tmp_path):
    """`report --from` and `merge` exit like the run they render: 1 for a
    failed run, 3 for one with an error verdict, 0 for a pass (issue 12 item 8)."""
    run(fixture_server("noop-251").target, tmp_path, "bad")
    bad = tmp_path / "bad.json"
    res = harness(["report", "--from", str(bad), "--report", "md:%s" % (tmp_path / "b.md")])
    assert res.returncode == 1, res.describe()
    res = harness(["merge", str(bad), "--report", "json:%s" % (tmp_path / "m.json")])
    assert res.returncode == 1, res.describe()
    # The same run with its failures turned into one harness error.
    doc = json.loads(bad.read_text())
    for sc in doc["scenarios"]:
        if sc["verdict"] == "fail":
            sc["verdict"] = "pass"
    doc["scenarios"][0]["verdict"] = "error"
    doc["scenarios"][0]["reason"] = "connect: Connection refused"
    errored = tmp_path / "errored.json"
    errored.write_text(json.dumps(doc))
    res = harness(["report", "--from", str(errored), "--report", "text:%s" % (tmp_path / "e.txt")])
    assert res.returncode == 3, res.describe()
    res = harness(["merge", str(errored), "--report", "json:%s" % (tmp_path / "e.json")])
    assert res.returncode == 3, res.describe()
