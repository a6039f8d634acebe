#!/bin/sh
# install-deps.sh - install the Debian packages smtpconform needs, idempotently.
#
#   scripts/install-deps.sh build   compiler, pkg-config, libevent, jansson, OpenSSL, PCRE2,
#                                   libedit (the shell's line editor), scdoc (man pages)
#   scripts/install-deps.sh package build + debhelper, dpkg-dev, fakeroot, lintian
#                                   (make deb: dpkg-buildpackage -b, lintian)
#   scripts/install-deps.sh test    package + cmocka, clang (+ libFuzzer), valgrind, postfix,
#                                   python3-pytest, python3-pexpect, python3-aiosmtpd,
#                                   libxml2-utils, chromium (HTML report test), man-db,
#                                   python3-yaml (docs/ci.md test), swaks (a client sending through `record`)
#   scripts/install-deps.sh bench   build + postfix (make bench: smtp-sink and smtp-source),
#                                   time (/usr/bin/time: peak RSS of the program alone)
# Does nothing when every package is already installed. Needs root (apt-get)
# only when something is missing.
set -eu

BUILD_PKGS="gcc make pkg-config python3 libevent-dev libjansson-dev libssl-dev libpcre2-dev libedit-dev scdoc"
PACKAGE_PKGS="$BUILD_PKGS debhelper dpkg-dev fakeroot lintian"
BENCH_PKGS="$BUILD_PKGS postfix time"
TEST_PKGS="$PACKAGE_PKGS man-db python3-yaml clang clang-format libclang-rt-dev libcmocka-dev valgrind postfix python3-pytest python3-pexpect python3-aiosmtpd libxml2-utils openssl chromium swaks"

case "${1:-build}" in
build) pkgs=$BUILD_PKGS ;;
package) pkgs=$PACKAGE_PKGS ;;
test) pkgs=$TEST_PKGS ;;
bench) pkgs=$BENCH_PKGS ;;
*) echo "usage: $0 build|package|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing" >&2
	echo "run as root: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; the tests write their own main.cf.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
