"""The Debian package (issue 16 item 4): `make deb` builds it with
dpkg-buildpackage in a copy of the tree, lintian reports no error, and the
binary of the package, unpacked into a scratch root with `dpkg -x`, runs its
bundled suite against the fixture server from another directory.

Takes about 30 s (a whole build); marked slow."""

import json
import os
import shutil
import subprocess

import pytest

import servers

REPO = servers.REPO
TOOLS = ("dpkg-buildpackage", "dh", "lintian", "fakeroot", "scdoc")


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip("missing %s (scripts/install-deps.sh package)" % ", ".join(missing))
    build = tmp_path_factory.mktemp("debbuild")
    res = subprocess.run(["make", "--no-print-directory", "BUILD=%s" % build, "deb"],
                         cwd=str(REPO), capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, "make deb failed:\n%s\n%s" % (res.stdout[-4000:],
                                                            res.stderr[-4000:])
    debs = sorted((build / "deb").glob("smtpconform_*.deb"))
    assert len(debs) == 1, debs
    # Nothing written beside the repository (dpkg-buildpackage's habit).
    assert not list(REPO.parent.glob("smtpconform_*")), "files written next to the repository"
    return debs[0]


@pytest.mark.slow
def test_lintian_reports_no_error(deb):
    res = subprocess.run(["lintian", str(deb)], capture_output=True, text=True, timeout=300)
    errors = [line for line in res.stdout.splitlines() if line.startswith("E:")]
    assert not errors, res.stdout


@pytest.mark.slow
def test_package_metadata_and_files(deb):
    info = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Depends"],
                          capture_output=True, text=True, check=True).stdout
    assert "Package: smtpconform" in info
    assert "libevent" in info and "libjansson" in info and "libssl" in info, info
    files = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                           check=True).stdout
    for path in ("./usr/bin/smtpconform", "./usr/share/smtpconform/scenarios/_lib/ehlo.smtp",
                 "./usr/share/man/man1/smtpconform.1.gz",
                 "./usr/share/man/man5/smtpconform-scenario.5.gz",
                 "./usr/share/bash-completion/completions/smtpconform",
                 "./usr/share/doc/smtpconform/copyright"):
        assert path in files, path


@pytest.mark.slow
def test_installed_package_runs_its_suite(deb, fixture_server, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True, timeout=60)
    exe = root / "usr/bin/smtpconform"
    env = {k: v for k, v in os.environ.items() if k != "SMTPCONFORM_SCENARIOS"}
    catalogue = subprocess.run([str(exe), "list", "--format", "ids"], cwd=str(tmp_path), env=env,
                               capture_output=True, text=True, timeout=60)
    assert catalogue.returncode == 0, catalogue.stderr
    ids = catalogue.stdout.split()
    res = subprocess.run([str(exe), "run", "-t", fixture_server("reference").target, "-q", "-j",
                          "8", "--report", "json:run.json"], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert sorted(sc["id"] for sc in report["scenarios"]) == sorted(ids)
    assert len(ids) > 100 and report["summary"]["fail"] == 0
    man = subprocess.run(["man", "-l", str(root / "usr/share/man/man1/smtpconform.1.gz")],
                         capture_output=True, text=True, timeout=60, env=dict(env, MANWIDTH="100"))
    assert man.returncode == 0 and "--rerun-failed" in man.stdout.replace("\u2010", "-")
