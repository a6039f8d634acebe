"""The HTML report (--report html:PATH) opened in headless Chromium: it loads
without console errors, without any network request, and its DOM holds the
command x reply-code grid and a failure transcript.

Installs nothing: without /usr/bin/chromium (Debian package `chromium`,
scripts/install-deps.sh) the tests are skipped. The screenshot is kept under
the build directory (build/html-report/), which is not committed."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import servers

CHROMIUM = Path("/usr/bin/chromium")
CORE = "scenarios/core"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing: install the Debian package `chromium` "
           "(apt-get install -y chromium; scripts/install-deps.sh)")


def chromium(html, tmp_path, *mode, timeout=90):
    """Runs headless Chromium on file://HTML with MODE (--dump-dom or
    --screenshot=PATH); returns (stdout, stderr)."""
    argv = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--user-data-dir=%s" % (tmp_path / "chromium-profile"),
            "--enable-logging=stderr", "--v=0", "--log-level=0",
            # nothing may be fetched: any host name resolves to nothing
            "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1366,2000",
            *mode, html.resolve().as_uri()]
    env = dict(os.environ, HOME=str(tmp_path))
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout * servers.slowdown(), env=env)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, "chromium exited %d\n$ %s\n--- stderr ---\n%s" % (
        proc.returncode, " ".join(argv), err[-4000:])
    return out, err


CONSOLE_RE = re.compile(r"CONSOLE[(:]|net::ERR_|Failed to load")


def console_errors(stderr):
    """Console messages of the page and failed loads. With
    --enable-logging=stderr --log-level=0 Chromium logs console messages as
    `CONSOLE(n)` (older) or `INFO:CONSOLE:n]` (156) lines. Any is an error
    here: the page has no script and fetches nothing."""
    return [line for line in stderr.splitlines() if CONSOLE_RE.search(line)]


def test_console_detector_works(tmp_path):
    """The detector sees a console.error of a page (else the tests below
    would pass vacuously on a Chromium that logs differently)."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><script>console.error("boom")</script>'
                   '</body></html>', encoding="utf-8")
    _, err = chromium(bad, tmp_path, "--dump-dom")
    assert any("boom" in line for line in console_errors(err)), \
        "console.error not seen in chromium's stderr:\n" + err[-3000:]


@pytest.fixture
def html_report(fixture_server, tmp_path):
    """build/smtpconform on scenarios/core against noop-251 (NOOP answered
    251: some scenarios fail), with --report html:PATH."""
    server = fixture_server("noop-251")
    html = tmp_path / "report.html"
    res = servers.run_harness(["run", "--target", server.target, "--report",
                               "html:%s" % html, "--report", "md:%s" % (tmp_path / "report.md"),
                               CORE], timeout=120)
    assert res.returncode == 1, "expected failures (exit 1)\n%s" % res.describe()
    assert html.exists(), "no HTML report written\n%s" % res.describe()
    return html


def test_html_report_dom(html_report, tmp_path):
    text = html_report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text, "the page names a URL"
    assert "<script" not in text.lower()

    dom, err = chromium(html_report, tmp_path, "--dump-dom")
    errors = console_errors(err)
    assert not errors, "console errors:\n" + "\n".join(errors)
    assert '<table class="grid">' in dom, "no command x code grid in the DOM"
    # noop-251: NOOP got 251, a matrix.not-allowed cell, red
    cell = re.search(r'<td class="cell bad" data-cell="NOOP 251"[^>]*><a href="#(cell-[\d-]+)">\d+',
                     dom)
    assert cell, "no red NOOP 251 cell in the grid, linking to its scenarios"
    # the cell's target lists the scenarios, each a link to one on the page
    listed = re.search(r'<dt id="%s">.*?</dt><dd>(.*?)</dd>' % cell.group(1), dom)
    assert listed, "the NOOP 251 cell links nowhere"
    targets = re.findall(r'<a href="#(sc-\d+)">', listed.group(1))
    assert targets and all('id="%s"' % t in dom for t in targets)
    # the verdict line first, the distinct findings before the scenarios
    assert re.search(r'<p class="verdict fail">FAIL: \d+ of \d+ scenarios failed', dom)
    assert dom.index('id="findings"') < dom.index('id="scenarios"')
    assert re.search(r'<li class="finding fail" id="f-1">', dom)
    assert '<blockquote class="sentence">' in dom, "no RFC sentence quoted"
    assert re.search(r'<td class="cell ok" data-cell="CONNECT 220"', dom)
    # a failed scenario, open, with its transcript, the reply highlighted
    assert re.search(r'<details class="scenario fail" id="sc-\d+" open="?"?>', dom), \
        "no open failed scenario"
    assert '<div class="transcript">' in dom
    assert re.search(r'<pre class="s hl">S: 251', dom), "the violating reply is not highlighted"
    assert '<code class="rule">matrix.not-allowed</code>' in dom
    assert "<cite>RFC 5321 4.3.2</cite>" in dom
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert len(md.splitlines()) <= 60 and "matrix.not-allowed" in md


def test_html_report_screenshot(html_report, tmp_path):
    shot_dir = servers.build_dir() / "html-report"
    shot_dir.mkdir(parents=True, exist_ok=True)
    shot = shot_dir / "report.png"
    shot.unlink(missing_ok=True)
    shutil.copy(html_report, shot_dir / "report.html")
    _, err = chromium(html_report, tmp_path, "--screenshot=%s" % shot)
    errors = console_errors(err)
    assert not errors, "console errors:\n" + "\n".join(errors)
    assert shot.exists() and shot.stat().st_size > 10000, "no screenshot written"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
