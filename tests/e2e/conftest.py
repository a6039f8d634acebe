"""conftest.py - fixtures for the end-to-end tests: servers and the harness.

Run with Debian's python, which has pytest and aiosmtpd from apt:

    /usr/bin/python3 -m pytest tests/e2e -q

Server fixtures are session-scoped where a server is stateless enough to be
shared (Postfix, OpenSMTPD, aiosmtpd); fixture servers (build/smtpfixture)
are started per test through the `fixture_server` factory. Every server is
stopped by the fixture that started it, on failure and on Ctrl-C too (SIGTERM
is turned into KeyboardInterrupt so the same teardown runs);
servers.stop_all() is a last resort at session end and at interpreter exit.
"""

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mta_servers  # noqa: E402
import servers  # noqa: E402
import tls  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (run by default)")
    config.addinivalue_line("markers", "postfix: needs a private Postfix instance (root)")

    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        def on_sigterm(signum, frame):
            raise KeyboardInterrupt("SIGTERM")
        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except ValueError:  # not the main thread
            pass


def pytest_report_header(config):
    exe = servers.binary_path("smtpconform")
    fix = servers.binary_path("smtpfixture")
    lines = [
        "smtpconform: %s%s" % (exe, "" if exe.exists() else " (MISSING: build it first)"),
        "smtpfixture: %s%s" % (fix, "" if fix.exists() else " (MISSING: build it first)"),
    ]
    if servers.under_valgrind():
        lines.append("smtpconform runs under valgrind (SMTPCONFORM_VALGRIND=1)")
    return lines


def _servers_of(item):
    """The servers a test uses: fixtures that are servers, tuples holding
    one (core_run), and what the fixture_server factory started."""
    found = []
    for value in getattr(item, "funcargs", {}).values():
        candidates = [value]
        if isinstance(value, tuple):
            candidates = list(value)
        candidates += list(getattr(value, "started", []))
        for c in candidates:
            if isinstance(c, servers.Server) and c not in found:
                found.append(c)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, append the tail of the logs of the servers the test used."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        for server in _servers_of(item):
            text = server.log_text(lines=80)
            if text:
                report.sections.append(("%s log (%s)" % (server.name, server.target if
                                                         server.port else "not listening"),
                                        text))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    errors = servers.stop_all()
    if errors:
        sys.stderr.write("smtpconform e2e: errors stopping servers: %s\n" % errors)


# ---------------------------------------------------------------------------
# fixtures


def start_or_error(server):
    """Starts SERVER; returns None, or the ServerError's text (so that
    pytest.fail is called outside the except block: no chained traceback)."""
    try:
        server.start()
    except servers.ServerError as e:
        return str(e)
    return None


@pytest.fixture(scope="session")
def postfix_server(tmp_path_factory):
    """A private Postfix instance for the whole session (see servers.py)."""
    server = servers.PostfixServer(keep_dir=tmp_path_factory.mktemp("postfix"))
    error = start_or_error(server)
    if error:
        pytest.fail("cannot start Postfix: %s" % error, pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        leftover = server.processes()
        assert not leftover, "postfix processes survive stop: %s" % leftover


@pytest.fixture(scope="session")
def opensmtpd_server(tmp_path_factory):
    """A private OpenSMTPD instance for the whole session (see servers.py;
    installed by scripts/install-third-mta.sh, which `make deps-test` runs)."""
    server = servers.OpensmtpdServer(keep_dir=tmp_path_factory.mktemp("opensmtpd"))
    error = start_or_error(server)
    if error:
        pytest.fail("cannot start OpenSMTPD: %s" % error, pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        leftover = server.processes()
        assert not leftover, "opensmtpd processes survive stop: %s" % leftover


def _namespace_server(server, label):
    """Starts SERVER (an mta_servers.NamespaceServer) for the session,
    stops it at the end and checks that none of its processes survive."""
    error = start_or_error(server)
    if error:
        pytest.fail("cannot start %s: %s" % (label, error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        leftover = server.processes()
        assert not leftover, "%s processes survive stop: %s" % (label, leftover)


@pytest.fixture(scope="session")
def exim_server(tmp_path_factory):
    """A private Exim 4.96 for the whole session (mta_servers.py; unpacked
    by scripts/install-mtas.sh, which `make deps-test` runs)."""
    yield from _namespace_server(
        mta_servers.EximServer(keep_dir=tmp_path_factory.mktemp("exim")), "Exim")


@pytest.fixture(scope="session")
def sendmail_server(tmp_path_factory):
    """A private Sendmail 8.17 for the whole session (mta_servers.py)."""
    yield from _namespace_server(
        mta_servers.SendmailServer(keep_dir=tmp_path_factory.mktemp("sendmail")), "Sendmail")


@pytest.fixture(scope="session")
def dovecot_server(tmp_path_factory, postfix_server):
    """Dovecot's submission service for the whole session, relaying to the
    session's Postfix (mta_servers.py): AUTH for .auth_user/.auth_password."""
    yield from _namespace_server(
        mta_servers.DovecotServer(postfix_server,
                                  keep_dir=tmp_path_factory.mktemp("dovecot")), "Dovecot")


@pytest.fixture(scope="session")
def haraka_server(tmp_path_factory):
    """A private Haraka for the whole session (mta_servers.py; npm ci by
    scripts/install-mtas.sh)."""
    yield from _namespace_server(
        mta_servers.HarakaServer(keep_dir=tmp_path_factory.mktemp("haraka")), "Haraka")


@pytest.fixture(scope="session")
def qpsmtpd_server(tmp_path_factory):
    """A private qpsmtpd for the whole session (mta_servers.py; unpacked by
    scripts/install-mtas.sh)."""
    yield from _namespace_server(
        mta_servers.QpsmtpdServer(keep_dir=tmp_path_factory.mktemp("qpsmtpd")), "qpsmtpd")


@pytest.fixture(scope="session")
def aiosmtpd_server(tmp_path_factory):
    server = servers.AiosmtpdServer(tmp_path_factory.mktemp("aiosmtpd"))
    error = start_or_error(server)
    if error:
        pytest.fail("cannot start aiosmtpd: %s" % error, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def aiosmtpd_server_v6(tmp_path_factory):
    if not servers.ipv6_loopback_available():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    server = servers.AiosmtpdServer(tmp_path_factory.mktemp("aiosmtpd6"), host="::1")
    error = start_or_error(server)
    if error:
        pytest.fail("cannot start aiosmtpd on [::1]: %s" % error, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fixture_server(tmp_path, request):
    """Factory: fixture_server("noop-251") starts build/smtpfixture with
    fixtures/behaviours/noop-251.beh and returns the FixtureServer. Every
    server started is stopped when the test ends.

    fixture_server("starttls-injection", tls=True) also gives it the
    session's certificate (tls_pki): STARTTLS is offered; implicit_tls=True
    makes it TLS from the first byte (.tls_target). .ca_file is the CA."""
    started = []

    def start(behaviour, tls=False, implicit_tls=False):
        kwargs = {}
        if tls or implicit_tls:
            pki = request.getfixturevalue("tls_pki")
            kwargs = dict(cert=pki.cert_file, key=pki.key_file, ca_file=pki.ca_file,
                          implicit_tls=implicit_tls)
        server = servers.FixtureServer(behaviour, tmp_path / "fixture-logs", **kwargs)
        started.append(server)
        error = start_or_error(server)
        if error:
            pytest.fail("cannot start the fixture server: %s" % error, pytrace=False)
        return server

    start.started = started
    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()


# ---------------------------------------------------------------------------
# TLS and AUTH servers (issue 5)


@pytest.fixture(scope="session")
def tls_pki(tmp_path_factory):
    """The session's throw-away CA and server certificate (tests/e2e/tls.py):
    .ca_file, .cert_file, .key_file, .wrong_name_cert_file,
    .wrong_name_key_file, .other_ca_file, .client_context()."""
    try:
        return tls.make_pki(tmp_path_factory.mktemp("tls"))
    except tls.PKIError as e:
        pytest.fail("cannot make the test certificates: %s" % e, pytrace=False)


@pytest.fixture(scope="session")
def postfix_tls_server(tmp_path_factory, tls_pki):
    """A second private Postfix instance with TLS: STARTTLS offered on
    .target/.target6 (smtpd_tls_security_level = may), implicit TLS (wrapper
    mode, RFC 8314) on .tls_target/.tls_target6; certificate from tls_pki,
    verifiable with .ca_file for postfix.smtpconform.test, localhost,
    127.0.0.1 and ::1. No AUTH (Postfix would need a SASL server)."""
    server = servers.PostfixServer(keep_dir=tmp_path_factory.mktemp("postfix-tls"), tls=True,
                                   cert=tls_pki.cert_file, key=tls_pki.key_file,
                                   ca_file=tls_pki.ca_file)
    error = start_or_error(server)
    if error:
        pytest.fail("cannot start Postfix with TLS: %s" % error, pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        leftover = server.processes()
        assert not leftover, "postfix processes survive stop: %s" % leftover


@pytest.fixture(scope="session")
def aiosmtpd_auth_server(tmp_path_factory, tls_pki):
    """aiosmtpd with STARTTLS and AUTH PLAIN, LOGIN and CRAM-MD5 for
    .auth_user ("conform") / .auth_password, offered and accepted only after
    STARTTLS (auth_require_tls; 538 5.7.11 before). .target, .ca_file;
    .auth_env is the environment the harness needs for the password
    (SMTPCONFORM_TEST_PASSWORD)."""
    server = servers.AiosmtpdServer(tmp_path_factory.mktemp("aiosmtpd-auth"),
                                    cert=tls_pki.cert_file, key=tls_pki.key_file,
                                    ca_file=tls_pki.ca_file, auth=True)
    error = start_or_error(server)
    if error:
        pytest.fail("cannot start aiosmtpd with AUTH: %s" % error, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aiosmtpd_factory(tmp_path, tls_pki):
    """Factory for other aiosmtpd set-ups, stopped when the test ends:
    aiosmtpd_factory(tls=True, implicit_tls=False, require_starttls=False,
    auth=False, auth_mechanisms=None, auth_require_tls=True,
    auth_required=False) -> AiosmtpdServer (tls=True: the tls_pki
    certificate; see servers.AiosmtpdServer)."""
    started = []

    def start(tls=True, **kwargs):
        if tls or kwargs.get("implicit_tls") or kwargs.get("require_starttls"):
            kwargs.update(cert=tls_pki.cert_file, key=tls_pki.key_file, ca_file=tls_pki.ca_file)
        server = servers.AiosmtpdServer(tmp_path / ("aiosmtpd-%d" % len(started)), **kwargs)
        started.append(server)
        error = start_or_error(server)
        if error:
            pytest.fail("cannot start aiosmtpd: %s" % error, pytrace=False)
        return server

    start.started = started
    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()


@pytest.fixture
def harness():
    """servers.run_harness, as a fixture for symmetry with the servers."""
    return servers.run_harness


@pytest.fixture
def scratch(tmp_path):
    """A per-test directory for reports and scenario files."""
    d = tmp_path / "scratch"
    d.mkdir()
    return d

