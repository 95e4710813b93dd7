#!/bin/sh
# mirage-vnc security: loopback by default, VNC authentication with
# --password-file (a wrong password is refused), no non-loopback listening
# without a password unless --insecure, usage errors exit 2.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
start_fake fake-sec 320 240
printf 'secret1\n' > "$TMP/pw"
chmod 600 "$TMP/pw"

start_vnc --mirror fake-sec --listen "127.0.0.1:$PORT" --http-port 0 --password-file "$TMP/pw"
"$VNC_CHECK" --port "$PORT" --mirror fake-sec --password secret1 > /dev/null || fail "right password refused"
pass "right password accepted"
"$VNC_CHECK" --port "$PORT" --expect-refused --password wrong > /dev/null || fail "wrong password accepted"
pass "wrong password refused"
"$VNC_CHECK" --port "$PORT" --expect-refused > /dev/null || fail "empty password accepted"
pass "no password refused"
# Default: loopback only, no IPv6 wildcard.
ss -Hltn "sport = :$PORT" | grep -v -e '127.0.0.1' -e '\[::1\]' && fail "listens beyond the loopback"
pass "listens on the loopback only"
stop_vnc

# A non-loopback address without a password: refused, exit status 1.
set +e
"$MIRAGE_VNC" --mirror fake-sec --listen "0.0.0.0:$PORT" --http-port 0 > "$TMP/out" 2>&1
st=$?
set -e
[ "$st" -eq 1 ] || fail "non-loopback without password: exit $st"
grep -q "without a password" "$TMP/out" || fail "no message: $(cat "$TMP/out")"
[ "$(wc -l < "$TMP/out")" -eq 1 ] || fail "more than one line: $(cat "$TMP/out")"
pass "non-loopback without a password refused: $(cat "$TMP/out")"

# ... allowed with --insecure.
start_vnc --mirror fake-sec --listen "0.0.0.0:$PORT" --http-port 0 --insecure
"$VNC_CHECK" --port "$PORT" --mirror fake-sec > /dev/null || fail "--insecure"
pass "--insecure serves"
stop_vnc

# Usage errors: exit 2; a missing mirror: exit 1 with one line.
set +e
"$MIRAGE_VNC" > /dev/null 2>&1; a=$?
"$MIRAGE_VNC" --mirror x --listen nonsense > /dev/null 2>&1; b=$?
"$MIRAGE_VNC" --mirror no-such-mirror --listen "127.0.0.1:$PORT" > "$TMP/out" 2>&1; c=$?
set -e
[ "$a" -eq 2 ] && [ "$b" -eq 2 ] || fail "usage errors exit $a, $b (expected 2)"
[ "$c" -eq 1 ] && [ "$(wc -l < "$TMP/out")" -eq 1 ] || fail "missing mirror: exit $c: $(cat "$TMP/out")"
pass "exit statuses: usage 2, failure 1 ($(cat "$TMP/out"))"
