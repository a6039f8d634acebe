#!/bin/sh
# install-mtas.sh - install the five further real SMTP servers of the
# end-to-end tests (tests/e2e, next to Postfix, OpenSMTPD and aiosmtpd),
# idempotently: Exim 4.96, Sendmail 8.17, Dovecot's submission service,
# Haraka and qpsmtpd 0.94.
#
#   scripts/install-mtas.sh          install what is missing (root)
#   scripts/install-mtas.sh --check  exit 0 if complete, 1 if not
#
# - Exim (exim4-daemon-light, exim4-base, exim4-config) and Sendmail
#   (sendmail-bin, sendmail-base, sendmail-cf) conflict with postfix (all
#   provide mail-transport-agent), so, like OpenSMTPD
#   (scripts/install-third-mta.sh), their .debs are fetched with `apt-get
#   download` and unpacked with `dpkg -x` into private prefixes,
#   build/exim ($SMTPCONFORM_EXIM_PREFIX) and build/sendmail
#   ($SMTPCONFORM_SENDMAIL_PREFIX); their shared libraries, and m4 (the
#   tests generate sendmail.cf with it), come from ordinary packages.
#   Exim has its user compiled in: the Debian-exim system user and group
#   are made as exim4-base's postinst makes them.
# - Dovecot (dovecot-core, dovecot-submissiond) does not conflict: it is
#   installed with apt. A system dovecot that the package started (it would
#   listen for submission on every interface) is stopped and disabled; the
#   tests run their own instance (`dovecot -c CONF`).
# - Haraka: Node.js and npm from Debian when `node`/`npm` are missing, then
#   `npm ci` of tests/e2e/haraka/package.json (Haraka 3.1.1, every
#   dependency pinned by package-lock.json) into build/haraka
#   ($SMTPCONFORM_HARAKA_PREFIX).
# - qpsmtpd (Perl): installed with dpkg, its postinst would start a system
#   service listening on every interface, so its .deb is unpacked the same
#   way into build/qpsmtpd ($SMTPCONFORM_QPSMTPD_PREFIX), its maintainer
#   scripts never run; its Perl libraries (plain libraries, no service) come
#   with apt, and the `qpsmtpd` system user it drops privileges to (-u) is
#   made as its postinst makes it.
#
# Nothing is put on PATH, no MTA alternative or /etc file is changed. Does
# nothing (and needs neither root nor the network) when all of it is there.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
EXIM_PREFIX=${SMTPCONFORM_EXIM_PREFIX:-$REPO/build/exim}
SENDMAIL_PREFIX=${SMTPCONFORM_SENDMAIL_PREFIX:-$REPO/build/sendmail}
HARAKA_PREFIX=${SMTPCONFORM_HARAKA_PREFIX:-$REPO/build/haraka}
HARAKA_SPEC=$REPO/tests/e2e/haraka
QPSMTPD_PREFIX=${SMTPCONFORM_QPSMTPD_PREFIX:-$REPO/build/qpsmtpd}

EXIM_DEBS="exim4-daemon-light exim4-base exim4-config"
SENDMAIL_DEBS="sendmail-bin sendmail-base sendmail-cf"
# Depends: of those packages that the binaries link against, and the tools
# the tests use with them (m4: sendmail.cf; unshare/mount: namespaces).
LIB_PKGS="libc6 libcrypt1 libdb5.3 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libnsl2
	libpcre2-8-0 libldap-2.5-0 liblockfile1 libsasl2-2 libssl3 libwrap0 m4 util-linux mount passwd"
DOVECOT_PKGS="dovecot-core dovecot-submissiond"
# Depends: of qpsmtpd 0.94-5 (the Perl modules it and its plugins load; the
# tests load no plugin that uses the network); its libnet-perl is provided
# by perl itself in Debian 12.
QPSMTPD_PKGS="perl libdigest-hmac-perl libmail-spf-perl libnet-dns-perl libmailtools-perl
	libipc-shareable-perl libclamav-client-perl libsocket6-perl libio-socket-inet6-perl"
EXIM=$EXIM_PREFIX/usr/sbin/exim4
SENDMAIL=$SENDMAIL_PREFIX/usr/libexec/sendmail/sendmail
HARAKA=$HARAKA_PREFIX/node_modules/.bin/haraka
QPSMTPD=$QPSMTPD_PREFIX/usr/bin/qpsmtpd-forkserver

say() { echo "install-mtas: $*" >&2; }

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing_pkgs() {
	m=""
	for p in $LIB_PKGS $DOVECOT_PKGS $QPSMTPD_PKGS; do
		pkg_installed "$p" || m="$m $p"
	done
	command -v node >/dev/null 2>&1 || m="$m nodejs"
	command -v npm >/dev/null 2>&1 || m="$m npm"
	echo "$m"
}

exim_ok() { [ -f "$EXIM_PREFIX/.installed" ] && [ -x "$EXIM" ]; }
sendmail_ok() {
	[ -f "$SENDMAIL_PREFIX/.installed" ] && [ -x "$SENDMAIL" ] &&
		[ -f "$SENDMAIL_PREFIX/usr/share/sendmail/cf/m4/cf.m4" ]
}
haraka_ok() {
	[ -x "$HARAKA" ] && [ -f "$HARAKA_PREFIX/.installed" ] &&
		cmp -s "$HARAKA_SPEC/package-lock.json" "$HARAKA_PREFIX/package-lock.json"
}
qpsmtpd_ok() {
	[ -f "$QPSMTPD_PREFIX/.installed" ] && [ -x "$QPSMTPD" ] &&
		[ -d "$QPSMTPD_PREFIX/usr/share/qpsmtpd/plugins" ]
}
users_ok() { getent passwd Debian-exim >/dev/null 2>&1 && getent passwd qpsmtpd >/dev/null 2>&1; }

all_present() {
	exim_ok && sendmail_ok && haraka_ok && qpsmtpd_ok && users_ok && [ -z "$(missing_pkgs)" ]
}

if all_present; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	exim_ok || say "not unpacked: $EXIM"
	sendmail_ok || say "not unpacked: $SENDMAIL"
	haraka_ok || say "not installed (or not the pinned version): $HARAKA"
	qpsmtpd_ok || say "not unpacked: $QPSMTPD"
	users_ok || say "missing user: Debian-exim or qpsmtpd"
	[ -z "$(missing_pkgs)" ] || say "missing packages:$(missing_pkgs)"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	say "the e2e servers are incomplete; run as root: $0"
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
updated=""
apt_update() {
	if [ -z "$updated" ]; then
		apt-get update -qq
		updated=1
	fi
}

# 1. ordinary packages: libraries, m4, Dovecot, Node.js, Perl modules
pkgs=$(missing_pkgs)
if [ -n "$pkgs" ]; then
	say "installing:$pkgs"
	apt_update
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi
# The package may have started the system's dovecot (submission on every
# interface): the tests run their own instance on loopback instead.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet dovecot 2>/dev/null; then
	say "stopping and disabling the system's dovecot service"
	systemctl disable --now dovecot >/dev/null 2>&1 || true
fi

# 2. conflicting packages: .debs unpacked into a private prefix
# unpack PREFIX BINARY DEB...
unpack() {
	prefix=$1 binary=$2
	shift 2
	apt_update
	tmp=$(mktemp -d)
	# apt-get download drops privileges to _apt: let it write there.
	if getent passwd _apt >/dev/null 2>&1; then
		chown _apt "$tmp"
	fi
	(cd "$tmp" && apt-get download -qq "$@" >/dev/null)
	rm -rf "$prefix.new"
	mkdir -p "$prefix.new"
	for p in "$@"; do
		deb=$(ls "$tmp"/"$p"_*.deb)
		dpkg -x "$deb" "$prefix.new"
		echo "$p $(dpkg-deb -f "$deb" Version)" >>"$prefix.new/.installed.tmp"
	done
	rm -rf "$tmp"
	if [ ! -x "$prefix.new/$binary" ]; then
		say "the packages $* have no $binary"
		exit 1
	fi
	# (qpsmtpd-forkserver is a Perl script: ldd has nothing to say)
	notfound=$(ldd "$prefix.new/$binary" 2>/dev/null | grep "not found" || true)
	if [ -n "$notfound" ]; then
		say "$binary lacks shared libraries:"
		echo "$notfound" >&2
		exit 1
	fi
	mv "$prefix.new/.installed.tmp" "$prefix.new/.installed"
	rm -rf "$prefix"
	mv "$prefix.new" "$prefix"
	say "unpacked into $prefix: $(tr '\n' ' ' <"$prefix/.installed")"
}
# shellcheck disable=SC2086 # word lists
exim_ok || unpack "$EXIM_PREFIX" usr/sbin/exim4 $EXIM_DEBS
# shellcheck disable=SC2086
sendmail_ok || unpack "$SENDMAIL_PREFIX" usr/libexec/sendmail/sendmail $SENDMAIL_DEBS
qpsmtpd_ok || unpack "$QPSMTPD_PREFIX" usr/bin/qpsmtpd-forkserver qpsmtpd

# 3. users: Exim's compiled-in one (exim4-base's postinst makes it the same way)
getent group Debian-exim >/dev/null 2>&1 || groupadd --system Debian-exim
if ! getent passwd Debian-exim >/dev/null 2>&1; then
	useradd --system --gid Debian-exim --home-dir /var/spool/exim4 --no-create-home \
		--shell /usr/sbin/nologin --comment "Exim, smtpconform e2e tests" Debian-exim
fi
# qpsmtpd-forkserver -u qpsmtpd (qpsmtpd's postinst makes it the same way)
getent group qpsmtpd >/dev/null 2>&1 || groupadd --system qpsmtpd
if ! getent passwd qpsmtpd >/dev/null 2>&1; then
	useradd --system --gid qpsmtpd --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin --comment "qpsmtpd, smtpconform e2e tests" qpsmtpd
fi

# 4. Haraka, every dependency at the version package-lock.json pins
if ! haraka_ok; then
	say "npm ci (Haraka, $HARAKA_SPEC/package-lock.json) into $HARAKA_PREFIX"
	rm -rf "$HARAKA_PREFIX.new"
	mkdir -p "$HARAKA_PREFIX.new"
	cp "$HARAKA_SPEC/package.json" "$HARAKA_SPEC/package-lock.json" "$HARAKA_PREFIX.new/"
	(cd "$HARAKA_PREFIX.new" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	node -e 'process.stdout.write("Haraka " + require(process.argv[1]).version + "\n")' \
		"$HARAKA_PREFIX.new/node_modules/Haraka/package.json" >"$HARAKA_PREFIX.new/.installed"
	rm -rf "$HARAKA_PREFIX"
	mv "$HARAKA_PREFIX.new" "$HARAKA_PREFIX"
fi

if ! all_present; then
	say "installation incomplete"
	exit 1
fi
say "ready: Exim, Sendmail, Dovecot submission, $(cat "$HARAKA_PREFIX/.installed"), $(cat "$QPSMTPD_PREFIX/.installed")"
