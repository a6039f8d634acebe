#!/bin/sh
# install-third-mta.sh - install OpenSMTPD, the third real SMTP server of the
# end-to-end tests (tests/e2e, next to Postfix and aiosmtpd), idempotently.
#
#   scripts/install-third-mta.sh          install what is missing (root)
#   scripts/install-third-mta.sh --check  exit 0 if complete, 1 if not
#
# Debian's `opensmtpd` package conflicts with `postfix` (both provide
# mail-transport-agent), so it is not installed with dpkg: its .deb is
# fetched with `apt-get download` and unpacked with `dpkg -x` into a private
# prefix, $SMTPCONFORM_OPENSMTPD_PREFIX (default build/opensmtpd), nothing of
# it on PATH. What the package's maintainer scripts would do is done here:
#
#   - its shared libraries come from ordinary packages (apt-get install),
#     none of which conflicts with anything;
#   - the system users/groups smtpd drops privileges to: opensmtpd and
#     opensmtpq (the names compiled into Debian's smtpd);
#   - the empty directories smtpd has compiled in, which the tests use as
#     mount points (tests/e2e/servers.py runs each instance in a private
#     mount namespace and bind-mounts per-instance directories over them):
#     /var/spool/smtpd (0711), /var/lib/opensmtpd/empty (its chroot) and
#     /usr/libexec/opensmtpd (the prefix's delivery helpers go there).
#
# Nothing is started, no MTA alternative or /etc file is changed. Does
# nothing (and needs neither root nor the network) when all of it is there.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${SMTPCONFORM_OPENSMTPD_PREFIX:-$REPO/build/opensmtpd}
PKG=opensmtpd
# Depends: of Debian 12's opensmtpd 6.8.0p2 that smtpd links against.
LIB_PKGS="libc6 libcrypt1 libdb5.3 libevent-2.1-7 libpam0g libssl3 zlib1g"
# util-linux (unshare) and mount are essential/required on Debian; checked anyway.
TOOL_PKGS="util-linux mount passwd"
USERS="opensmtpd opensmtpq"
MOUNT_POINTS="/var/spool/smtpd /var/lib/opensmtpd/empty /usr/libexec/opensmtpd"
SMTPD=$PREFIX/usr/sbin/smtpd
STAMP=$PREFIX/.installed

say() { echo "install-third-mta: $*" >&2; }

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing_pkgs() {
	m=""
	for p in $LIB_PKGS $TOOL_PKGS; do
		pkg_installed "$p" || m="$m $p"
	done
	echo "$m"
}

missing_users() {
	m=""
	for u in $USERS; do
		getent passwd "$u" >/dev/null 2>&1 || m="$m $u"
	done
	echo "$m"
}

missing_dirs() {
	m=""
	for d in $MOUNT_POINTS; do
		[ -d "$d" ] || m="$m $d"
	done
	echo "$m"
}

prefix_ok() {
	[ -f "$STAMP" ] && [ -x "$SMTPD" ] && [ -x "$PREFIX/usr/libexec/opensmtpd/mail.mda" ]
}

all_present() {
	prefix_ok && [ -z "$(missing_pkgs)" ] && [ -z "$(missing_users)" ] && [ -z "$(missing_dirs)" ]
}

if all_present; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	prefix_ok || say "not unpacked: $SMTPD"
	[ -z "$(missing_pkgs)" ] || say "missing packages:$(missing_pkgs)"
	[ -z "$(missing_users)" ] || say "missing users:$(missing_users)"
	[ -z "$(missing_dirs)" ] || say "missing directories:$(missing_dirs)"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	say "OpenSMTPD for the e2e tests is incomplete; run as root: $0"
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

# 1. libraries (ordinary packages; none conflicts with postfix)
pkgs=$(missing_pkgs)
if [ -n "$pkgs" ]; then
	say "installing:$pkgs"
	apt_update
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# 2. the .deb, unpacked into the private prefix
if ! prefix_ok; then
	apt_update
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download drops privileges to _apt: let it write there.
	if getent passwd _apt >/dev/null 2>&1; then
		chown _apt "$tmp"
	fi
	(cd "$tmp" && apt-get download -qq "$PKG" >/dev/null)
	deb=$(ls "$tmp"/"$PKG"_*.deb)
	version=$(dpkg-deb -f "$deb" Version)
	say "unpacking $PKG $version into $PREFIX"
	rm -rf "$PREFIX.new"
	mkdir -p "$PREFIX.new"
	dpkg -x "$deb" "$PREFIX.new"
	if [ ! -x "$PREFIX.new/usr/sbin/smtpd" ]; then
		say "$deb has no usr/sbin/smtpd"
		exit 1
	fi
	notfound=$(ldd "$PREFIX.new/usr/sbin/smtpd" | grep "not found" || true)
	if [ -n "$notfound" ]; then
		say "smtpd lacks shared libraries:"
		echo "$notfound" >&2
		exit 1
	fi
	echo "$PKG $version" >"$PREFIX.new/.installed"
	rm -rf "$PREFIX"
	mv "$PREFIX.new" "$PREFIX"
fi

# 3. users and groups (as the package's postinst makes them)
for u in $USERS; do
	getent group "$u" >/dev/null 2>&1 || groupadd --system "$u"
	if ! getent passwd "$u" >/dev/null 2>&1; then
		useradd --system --gid "$u" --home-dir /var/lib/opensmtpd/empty --no-create-home \
			--shell /usr/sbin/nologin --comment "OpenSMTPD ($u), smtpconform e2e tests" "$u"
	fi
done

# 4. mount points (empty; the tests never write into them)
for d in $MOUNT_POINTS; do
	[ -d "$d" ] || mkdir -p "$d"
done
chmod 0711 /var/spool/smtpd
chmod 0755 /var/lib/opensmtpd/empty /usr/libexec/opensmtpd

if ! all_present; then
	say "installation incomplete"
	exit 1
fi
say "OpenSMTPD ready: $(cat "$STAMP")"
