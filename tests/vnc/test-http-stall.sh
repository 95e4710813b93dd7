#!/bin/sh
# mirage-vnc's HTTP server under stalled requests: 40 stalled connections
# from 127.0.0.1 (one trickling a byte a second) shut nobody else out —
# 127.0.0.2 gets the page at once, 127.0.0.1 over its cap is refused at
# once (logged once), and gets the page again after the head deadline; the
# trickler is cut off at the deadline; and mirage-vnc stops on SIGTERM
# within a second with stalled connections open.
. "$(dirname "$0")/lib.sh"

STALL=$(dirname "$0")/http-stall.py
PORT=$(free_port)
HTTP=$((PORT - 100))
mkdir "$TMP/www"
echo '<!doctype html><title>noVNC</title>' > "$TMP/www/vnc.html"
start_fake fake-stall 64 48
start_vnc --mirror fake-stall --listen "127.0.0.1:$PORT" --http-port "$HTTP" --http-dir "$TMP/www"

python3 "$STALL" flood "$HTTP" > "$TMP/flood" 2>&1 || fail "$(cat "$TMP/flood")"
sed 's/^/ok: /' "$TMP/flood"
n=$(grep -c '127.0.0.1: 8 connections open from this address already: refused' "$TMP/vnc.log" || true)
[ "$n" -eq 1 ] || fail "the refusals of 127.0.0.1 logged $n times (once expected): $(grep http: "$TMP/vnc.log")"
pass "one line for the burst: $(grep -m1 'connections open from this address' "$TMP/vnc.log")"

# SIGTERM with stalled connections open: vnc_http_destroy() cuts them off.
python3 "$STALL" hold "$HTTP" > "$TMP/hold" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
for _ in $(seq 100); do
	grep -q held "$TMP/hold" && break
	kill -0 "$HOLD" 2>/dev/null || fail "stalled client: $(cat "$TMP/hold")"
	sleep 0.05
done
grep -q held "$TMP/hold" || fail "stalled client did not connect"
stop_vnc_at_once "with 20 stalled connections open"
