"""Shipping (issue 16 items 1-3): `make install` with PREFIX and DESTDIR, the
installed binary finding its bundled suite from any directory, the man pages
(rendered with `man -l`, covering every long option of --help) and the bash
completion."""

import json
import os
import re
import shutil
import subprocess

import pytest

import servers

REPO = servers.REPO


def make(*args, timeout=300):
    """`make ARGS` in the repository with this test run's build directory."""
    res = subprocess.run(["make", "--no-print-directory", "BUILD=%s" % servers.build_dir()]
                         + list(args), cwd=str(REPO), capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, "make %s failed:\n%s\n%s" % (" ".join(args), res.stdout[-3000:],
                                                          res.stderr[-3000:])
    return res


def clean_env():
    return {k: v for k, v in os.environ.items() if k != "SMTPCONFORM_SCENARIOS"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install DESTDIR=... PREFIX=/usr/local` into a scratch root."""
    if shutil.which("scdoc") is None:
        pytest.skip("scdoc is not installed (scripts/install-deps.sh build)")
    root = tmp_path_factory.mktemp("destdir")
    make("install", "DESTDIR=%s" % root, "PREFIX=/usr/local")
    return root


def test_make_install_lays_out_the_files(installed):
    prefix = installed / "usr/local"
    assert os.access(prefix / "bin/smtpconform", os.X_OK)
    data = prefix / "share/smtpconform"
    assert (data / "scenarios/_lib/ehlo.smtp").is_file()
    bundled = sorted(p.relative_to(REPO / "scenarios") for p in (REPO / "scenarios").rglob("*.smtp"))
    assert sorted(p.relative_to(data / "scenarios") for p in (data / "scenarios").rglob("*.smtp")) \
        == bundled
    assert list((data / "matrix").glob("*.tsv")) and list((data / "targets").glob("*.conf"))
    assert (prefix / "share/man/man1/smtpconform.1").is_file()
    assert (prefix / "share/man/man5/smtpconform-scenario.5").is_file()
    assert (prefix / "share/bash-completion/completions/smtpconform").is_file()
    assert (prefix / "share/zsh/vendor-completions/_smtpconform").is_file()


def test_installed_binary_runs_its_suite_from_any_directory(installed, fixture_server, tmp_path):
    exe = installed / "usr/local/bin/smtpconform"
    server = fixture_server("reference")
    res = subprocess.run([str(exe), "run", "-t", server.target, "-q", "-j", "4", "--tag",
                          "smuggling", "--report", "json:out.json"], cwd=str(tmp_path),
                         env=clean_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["scenarios"] and all(sc["file"].startswith("scenarios/smuggling/")
                                       for sc in report["scenarios"]), report["scenarios"][0]
    # The steps of the bundled openings too, not the install path.
    files = {st["file"] for sc in report["scenarios"] for st in sc["steps"] if "file" in st}
    assert files and all(f.startswith("scenarios/") for f in files), files


def test_man_finds_the_installed_pages(installed):
    env = dict(os.environ, MANPATH=str(installed / "usr/local/share/man"), MANWIDTH="100")
    for page in (["smtpconform"], ["5", "smtpconform-scenario"]):
        res = subprocess.run(["man"] + page, env=env, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and "smtpconform" in res.stdout, res.stderr


def test_make_uninstall_removes_it(tmp_path):
    if shutil.which("scdoc") is None:
        pytest.skip("scdoc is not installed")
    # The default PREFIX: another one would rebuild the build directory's
    # binary with another DATADIR.
    make("install", "DESTDIR=%s" % tmp_path)
    make("uninstall", "DESTDIR=%s" % tmp_path)
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not left, left


def help_long_options():
    """Every --long option that `smtpconform ... --help` prints."""
    opts = set()
    exe = servers.binary_path("smtpconform")
    for argv in (["--help"], ["run", "--help"], ["list", "--help"], ["check", "--help"],
                 ["matrix", "--help"], ["diff", "--help"]):
        out = subprocess.run([str(exe)] + argv, capture_output=True, text=True).stdout
        opts |= set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", out))
    return opts


def render(page):
    """The man page as text, with `man -l` (no line breaks inside words)."""
    if shutil.which("man") is None or shutil.which("scdoc") is None:
        pytest.skip("man or scdoc is not installed (scripts/install-deps.sh test)")
    make("man")
    env = dict(os.environ, MANWIDTH="2000", MAN_KEEP_FORMATTING="0", LC_ALL="C.UTF-8")
    res = subprocess.run(["man", "-l", str(servers.build_dir() / "man" / page)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    text = re.sub(r".\x08", "", res.stdout)  # no overstrike bold
    return text.replace("\u2010", "-").replace("\u2212", "-")


def test_man_page_documents_every_option_of_help():
    text = render("smtpconform.1")
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES",
                    "EXAMPLES"):
        assert re.search(r"^%s$" % section, text, re.M), section
    opts = help_long_options()
    assert "--rerun-failed" in opts and "--scenarios-dir" in opts and len(opts) >= 30
    missing = sorted(o for o in opts if not re.search(re.escape(o) + r"(?![\w-])", text))
    assert not missing, "options of --help missing from smtpconform(1): %s" % missing
    for command in ("run", "list", "check", "matrix", "report", "merge", "diff"):
        assert re.search(r"smtpconform %s\b" % command, text), command
    for var in ("SMTPCONFORM_SCENARIOS", "SMTPCONFORM_PASSWORD", "CI_NODE_INDEX",
                "JOB_COMPLETION_INDEX"):
        assert var in text, var


def test_scenario_man_page_renders():
    text = render("smtpconform-scenario.5")
    for word in ("C:", "S:", "D:", "R:", "A:", "@include", "requires", "{name}"):
        assert word in text, word


def complete(words):
    """What the bash completion offers for the last of words."""
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _smtpconform; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    res = subprocess.run(["bash", "-c", script, "_", str(REPO / "completions/smtpconform.bash"),
                          str(servers.binary_path("smtpconform"))] + words,
                         capture_output=True, text=True, timeout=60, env=clean_env())
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_bash_completion():
    assert "list" in complete(["li"])
    assert complete(["run", "--rerun"]) == ["--rerun-failed"]
    assert "html" in complete(["run", "--report", ""])
    assert complete(["list", "--format", "j"]) == ["json"]
    assert complete(["run", "--tag", "smugg"]) == ["smuggling"]
    ids = complete(["run", "--id", "smuggling.lf-"])
    assert ids and all(i.startswith("smuggling.lf-") for i in ids)
    # Every long option of run --help is offered.
    offered = set(complete(["run", "--"]))
    run_help = subprocess.run([str(servers.binary_path("smtpconform")), "run", "--help"],
                              capture_output=True, text=True).stdout
    run_part = run_help.split("run options:")[1].split("environment:")[0]
    run_opts = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", run_part))
    assert len(run_opts) > 25 and run_opts <= offered, run_opts - offered
