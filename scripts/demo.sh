#!/bin/sh
# demo.sh - the quick start's main job: start the fixture server on a free
# loopback port, run the bundled suite against it, write every report format
# to reports/, stop the server. Run through `make demo` (which builds first).
#
# The fixture server is our own test server, not an MTA: to qualify a real
# server, run build/smtpconform run -t HOST:PORT yourself.
set -eu
BUILD=${BUILD:-build}
OUT=${REPORTS:-reports}
mkdir -p "$OUT"

fifo=$(mktemp -u)
mkfifo "$fifo"
"$BUILD/smtpfixture" --listen 127.0.0.1:0 --behaviour fixtures/behaviours/reference.beh --quiet >"$fifo" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$fifo"' EXIT INT TERM
read -r ready host port <"$fifo" || true
if [ "${ready:-}" != READY ]; then
	echo "demo: the fixture server did not start" >&2
	exit 3
fi
echo "demo: fixture server (reference behaviour) on $host:$port"
status=0
"$BUILD/smtpconform" run -t "$host:$port" -j 4 \
	--report text \
	--report "json:$OUT/demo.json" \
	--report "junit:$OUT/demo-junit.xml" \
	--report "tap:$OUT/demo.tap" \
	scenarios/ || status=$?
echo "demo: reports in $OUT/: demo.json demo-junit.xml demo.tap (exit $status)"
exit $status
