#!/usr/bin/python3
"""aiosmtpd_server.py - a small aiosmtpd server for the end-to-end tests.

Run with Debian's python (python3-aiosmtpd):

    /usr/bin/python3 tests/e2e/aiosmtpd_server.py --listen 127.0.0.1:0 \
        --hostname aiosmtpd.smtpconform.test --domain localhost

It binds the listening socket itself (port 0 picks a free one, so there is no
race between choosing a port and binding it), then prints exactly one line

    READY <host> <port>

on stdout, like build/smtpfixture does, and serves until SIGTERM or SIGINT.

Mail handling: RCPT is accepted for the domains given with --domain (and the
server's own --hostname) and for <Postmaster> without a domain (RFC 5321
4.5.1), refused with 550 5.7.1 for any other domain (no relaying), and with
550 5.1.1 for a local part not in --user when --user is given. Accepted
messages are counted and discarded; nothing is delivered.

TLS (certificate and key: --tls-cert, --tls-key):
  default              STARTTLS offered (RFC 3207); aiosmtpd resets the
                       session after the handshake and discards plaintext
                       pipelined after STARTTLS
  --require-starttls   every command but NOOP, EHLO, STARTTLS and QUIT gets
                       530 before STARTTLS
  --implicit-tls       TLS from the first byte instead (RFC 8314); no STARTTLS

AUTH (RFC 4954), with --auth: one account, --auth-user (default "conform"),
whose password is the value of the environment variable
SMTPCONFORM_TEST_PASSWORD (never on the command line, where ps shows it).
Mechanisms: PLAIN and LOGIN (built into aiosmtpd 1.4.3) and CRAM-MD5 (RFC
2195, implemented here: aiosmtpd has none); --auth-mechanism (repeatable)
keeps only those named. Over a plaintext connection AUTH is neither
advertised nor accepted (538 5.7.11) unless --auth-allow-plaintext
(aiosmtpd's auth_require_tls=False); --auth-required makes MAIL, RCPT,
DATA, VRFY and the like answer 530 5.7.0 until AUTH succeeded. A wrong
password gets 535 5.7.8.
"""

import argparse
import asyncio
import hmac
import os
import secrets
import signal
import socket
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult

PASSWORD_ENV = "SMTPCONFORM_TEST_PASSWORD"
ALL_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


class DiscardHandler:
    """Accepts mail for local domains, refuses relaying, discards messages."""

    def __init__(self, domains, users):
        self.domains = {d.lower() for d in domains}
        self.users = {u.lower() for u in users}
        self.messages = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == "postmaster":
            # "RCPT TO:<Postmaster>" without a domain MUST be accepted
            # (RFC 5321 4.5.1, 2.3.5; "Postmaster" is case-insensitive).
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"
        local, sep, domain = address.rpartition("@")
        if not sep or domain.lower() not in self.domains:
            return "550 5.7.1 <%s>: Relay access denied" % address
        if self.users and local.lower() not in self.users:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 2.0.0 Ok: discarded"


class Account:
    """The one AUTH account: checks PLAIN/LOGIN credentials (aiosmtpd's
    authenticator interface) and implements CRAM-MD5 (aiosmtpd calls a
    handler's auth_CRAM__MD5 for the mechanism "CRAM-MD5")."""

    def __init__(self, user, password, hostname):
        self.user = user.encode()
        self.password = password.encode()
        self.hostname = hostname

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (hmac.compare_digest(auth_data.login, self.user)
              and hmac.compare_digest(auth_data.password, self.password))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def auth_CRAM__MD5(self, server, args):
        if len(args) != 1:
            # RFC 2195: no initial response.
            await server.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return AuthResult(success=False, handled=True)
        challenge = "<%d.%d@%s>" % (secrets.randbits(48), int(time.time()), self.hostname)
        response = await server.challenge_auth(challenge)
        if not isinstance(response, bytes):  # '*' or bad base64: already answered 501
            return AuthResult(success=False, handled=True)
        user, sep, digest = response.rpartition(b" ")
        expected = hmac.new(self.password, challenge.encode(), "md5").hexdigest().encode()
        ok = (bool(sep) and hmac.compare_digest(user, self.user)
              and hmac.compare_digest(digest.lower(), expected))
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


class Handler(DiscardHandler):
    """DiscardHandler plus, with an account, the CRAM-MD5 mechanism."""

    def __init__(self, domains, users, account=None, mechanisms=ALL_MECHANISMS):
        super().__init__(domains, users)
        if account is not None and "CRAM-MD5" in mechanisms:
            self.auth_CRAM__MD5 = account.auth_CRAM__MD5


class TestSMTP(SMTP):
    """aiosmtpd's SMTP, plus: with implicit TLS (the listening socket
    wraps every connection), the session counts as TLS-protected, so AUTH is
    offered when auth_require_tls holds (aiosmtpd 1.4.3 only knows STARTTLS)."""

    def __init__(self, *args, implicit_tls=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._implicit_tls = implicit_tls

    def connection_made(self, transport):
        super().connection_made(transport)
        if self._implicit_tls and transport.get_extra_info("ssl_object") is not None:
            self._tls_protocol = True  # read only as a flag once STARTTLS is impossible


def parse_listen(value):
    """'127.0.0.1:0', '[::1]:2525' -> (host, port)."""
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep:
            raise argparse.ArgumentTypeError("expected [ADDR]:PORT, got %r" % value)
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % value)
    if host not in ("127.0.0.1", "::1", "localhost"):
        # The test suite only ever serves on loopback.
        raise argparse.ArgumentTypeError("refusing to listen on non-loopback %r" % host)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0))
    ap.add_argument("--hostname", default="aiosmtpd.smtpconform.test",
                    help="name in the greeting and the EHLO reply")
    ap.add_argument("--domain", action="append", default=[],
                    help="accept RCPT for this domain (repeatable; default localhost)")
    ap.add_argument("--user", action="append", default=[],
                    help="accept only these local parts (repeatable; default any)")
    ap.add_argument("--smtputf8", action="store_true", help="announce SMTPUTF8")
    ap.add_argument("--tls-cert", help="PEM certificate: offer STARTTLS")
    ap.add_argument("--tls-key", help="PEM key for --tls-cert")
    ap.add_argument("--require-starttls", action="store_true",
                    help="530 for commands before STARTTLS (needs --tls-cert)")
    ap.add_argument("--implicit-tls", action="store_true",
                    help="TLS from the first byte instead of STARTTLS (needs --tls-cert)")
    ap.add_argument("--auth", action="store_true",
                    help="offer AUTH; the password is in $%s" % PASSWORD_ENV)
    ap.add_argument("--auth-user", default="conform", help="the AUTH account (default conform)")
    ap.add_argument("--auth-mechanism", action="append", choices=ALL_MECHANISMS, default=[],
                    help="offer only these mechanisms (repeatable; default all: %s)"
                    % " ".join(ALL_MECHANISMS))
    ap.add_argument("--auth-allow-plaintext", action="store_true",
                    help="offer and accept AUTH without TLS (auth_require_tls=False)")
    ap.add_argument("--auth-required", action="store_true",
                    help="530 for MAIL, RCPT, DATA... until AUTH succeeded")
    args = ap.parse_args()

    if (args.tls_cert is None) != (args.tls_key is None):
        ap.error("--tls-cert and --tls-key go together")
    if (args.require_starttls or args.implicit_tls) and not args.tls_cert:
        ap.error("--require-starttls and --implicit-tls need --tls-cert and --tls-key")
    if args.require_starttls and args.implicit_tls:
        ap.error("--require-starttls and --implicit-tls exclude each other")
    if (args.auth_mechanism or args.auth_allow_plaintext or args.auth_required) and not args.auth:
        ap.error("--auth-mechanism, --auth-allow-plaintext and --auth-required need --auth")

    host, port = args.listen
    domains = (args.domain or ["localhost"]) + [args.hostname]

    account = None
    mechanisms = tuple(args.auth_mechanism) or ALL_MECHANISMS
    if args.auth:
        password = os.environ.get(PASSWORD_ENV)
        if not password:
            ap.error("--auth: the environment variable %s is not set" % PASSWORD_ENV)
        account = Account(args.auth_user, password, args.hostname)
    handler = Handler(domains, args.user, account, mechanisms)

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    auth_kwargs = {}  # without --auth: aiosmtpd's defaults, as before
    if account is not None:
        auth_kwargs = dict(authenticator=account,
                           auth_require_tls=not args.auth_allow_plaintext,
                           auth_required=args.auth_required,
                           auth_exclude_mechanism=[m for m in ALL_MECHANISMS
                                                   if m not in mechanisms])

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)

    def factory():
        return TestSMTP(handler, hostname=args.hostname, ident="aiosmtpd smtpconform-e2e",
                        enable_SMTPUTF8=args.smtputf8,
                        tls_context=None if args.implicit_tls else tls_context,
                        require_starttls=args.require_starttls,
                        implicit_tls=args.implicit_tls, **auth_kwargs)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        factory, sock=sock, ssl=tls_context if args.implicit_tls else None))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    bound_host, bound_port = sock.getsockname()[:2]
    sys.stdout.write("READY %s %d\n" % (bound_host, bound_port))
    sys.stdout.flush()
    try:
        loop.run_until_complete(stop.wait())
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    sys.stderr.write("aiosmtpd_server: stopped after %d message(s)\n" % handler.messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
