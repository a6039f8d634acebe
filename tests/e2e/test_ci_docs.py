"""docs/ci.md (issue 16 item 6), tested where it can be without a CI: every
YAML block parses, every smtpconform command line in it uses only options
the binary knows, and the GitLab recipe's flow (parallel: nodes with
--shard auto, then merge) is run for real against the fixture server."""

import json
import re
import subprocess

import pytest

import servers

DOC = servers.REPO / "docs" / "ci.md"
COMMAND = re.compile(r"smtpconform (run|list|merge|diff|report|check)\b")


def blocks(lang):
    return re.findall(r"```%s\n(.*?)```" % lang, DOC.read_text(), re.S)


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def known_options():
    exe = servers.binary_path("smtpconform")
    opts = set()
    for argv in (["--help"], ["list", "--help"], ["diff", "--help"]):
        out = subprocess.run([str(exe)] + argv, capture_output=True, text=True).stdout
        opts |= set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", out))
    return opts


def command_lines():
    """Every smtpconform command in the page: YAML values (folded scalars
    joined) and the indented shell examples."""
    yaml = pytest.importorskip("yaml")
    lines = []
    for block in blocks("yaml"):
        for s in strings(yaml.safe_load(block)):
            lines += [line for line in s.replace("\n", " ").split("&&") if COMMAND.search(line)]
    lines += [line for line in DOC.read_text().splitlines()
              if line.startswith("    ") and COMMAND.search(line)]
    return lines


def test_yaml_blocks_parse():
    yaml = pytest.importorskip("yaml")
    found = blocks("yaml")
    assert len(found) >= 3
    for block in found:
        assert isinstance(yaml.safe_load(block), dict)


def test_command_lines_use_known_options():
    lines = command_lines()
    assert len(lines) >= 6 and any("--shard auto" in line for line in lines)
    known = known_options()
    for line in lines:
        used = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", line.split("#")[0]))
        assert used <= known, "%s: unknown %s" % (line.strip(), used - known)


def test_gitlab_parallel_shards_then_merge_give_every_scenario_once(fixture_server, tmp_path):
    target = fixture_server("reference").target
    total = 3
    for node in range(1, total + 1):
        res = servers.run_harness(["run", "-t", target, "-j", "8", "-q", "--shard", "auto",
                                   "--report", "json:%s" % (tmp_path / ("part-%d.json" % node))],
                                  env={"CI_NODE_INDEX": str(node), "CI_NODE_TOTAL": str(total)},
                                  timeout=120)
        assert res.returncode == 0, res.describe()
    parts = sorted(tmp_path.glob("part-*.json"))
    merged = servers.run_harness(["merge"] + parts + ["--report",
                                                      "json:%s" % (tmp_path / "merged.json")],
                                 timeout=60)
    assert merged.returncode == 0, merged.describe()
    ids = [sc["id"] for sc in json.loads((tmp_path / "merged.json").read_text())["scenarios"]]
    catalogue = servers.run_harness(["list", "--format", "ids"], timeout=60).stdout.split()
    assert sorted(ids) == sorted(catalogue)
    sizes = [len(json.loads(p.read_text())["scenarios"]) for p in parts]
    assert all(sizes) and sum(sizes) == len(catalogue), sizes
