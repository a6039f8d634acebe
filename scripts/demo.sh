#!/bin/sh
# demo.sh - the quick start's main job, run by `make demo` (which builds first):
#  1. the bundled suite against our fixture server playing a conformant SMTP
#     server: every scenario must pass (skips allowed);
#  2. the same suite against the fixture server with one fault (NOOP answered
#     251), so the reports show what a finding looks like: reports/demo.html,
#     .md, .json, .xml (JUnit), .tap, all from that one run.
# Servers listen on 127.0.0.1 only and are stopped here. The fixture server
# is our own test server, not an MTA: to qualify a real server, see README.
set -eu
BUILD=${BUILD:-build}
OUT=${REPORTS:-reports}
mkdir -p "$OUT"
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT INT TERM

# start_fixture BEHAVIOUR: starts it in the background (its pid joins $pids,
# so the trap stops it) and sets $addr to HOST:PORT. Not called in $(...):
# a subshell would lose $pids and leave the server running.
start_fixture() {
	mkfifo "$tmp/$1.fifo"
	"$BUILD/smtpfixture" --listen 127.0.0.1:0 --behaviour "fixtures/behaviours/$1.beh" --quiet \
		>"$tmp/$1.fifo" 2>"$tmp/$1.log" &
	pids="$pids $!"
	read -r ready host port <"$tmp/$1.fifo" || true
	if [ "${ready:-}" != READY ]; then
		echo "demo: the fixture server ($1) did not start" >&2
		exit 3
	fi
	addr="$host:$port"
}

start_fixture reference
ref=$addr
echo "demo: 1/2 the bundled suite against a conformant fixture server ($ref)"
status=0
"$BUILD/smtpconform" run -t "$ref" -j 4 --report text --report "json:$OUT/reference.json" \
	scenarios/ || status=$?
if [ "$status" != 0 ]; then
	echo "demo: the conformant fixture server failed the suite (exit $status): a bug" >&2
	exit "$status"
fi

start_fixture noop-251
faulty=$addr
echo
echo "demo: 2/2 the same suite against a fixture server that answers NOOP with 251 ($faulty)"
status=0
"$BUILD/smtpconform" run -t "$faulty" -j 4 -q \
	--report "html:$OUT/demo.html" --report "md:$OUT/demo.md" --report "json:$OUT/demo.json" \
	--report "junit:$OUT/demo.xml" --report "tap:$OUT/demo.tap" scenarios/ || status=$?
if [ "$status" != 1 ]; then
	echo "demo: expected exit 1 (findings) from the faulty server, got $status" >&2
	exit 1
fi
cat "$OUT/demo.md"
echo
echo "demo: reports in $OUT/: demo.html (open it in a browser), demo.md, demo.json, demo.xml, demo.tap"
