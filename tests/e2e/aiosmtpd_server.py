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
server's own --hostname), refused with 550 5.7.1 for any other domain (no
relaying), and with 550 5.1.1 for a local part not in --user when --user is
given. Accepted messages are counted and discarded; nothing is delivered.
"""

import argparse
import asyncio
import signal
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP


class DiscardHandler:
    """Accepts mail for local domains, refuses relaying, discards messages."""

    def __init__(self, domains, users):
        self.domains = {d.lower() for d in domains}
        self.users = {u.lower() for u in users}
        self.messages = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
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
    args = ap.parse_args()

    host, port = args.listen
    domains = (args.domain or ["localhost"]) + [args.hostname]
    handler = DiscardHandler(domains, args.user)

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)

    def factory():
        return SMTP(handler, hostname=args.hostname, ident="aiosmtpd smtpconform-e2e",
                    enable_SMTPUTF8=args.smtputf8, tls_context=tls_context)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, sock=sock))
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
