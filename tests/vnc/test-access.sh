#!/bin/sh
# mirage-vnc access control: wrong VNC passwords are logged with the address
# and an address is blocked after repeated failures (TigerVNC's blacklist:
# the block doubles on each further failure, a success clears it), other
# addresses are not; parallel connections do not multiply the tries.
# auth-check makes the attempts from a source address of its choosing.
# The HTTP server serves symbolic links only while they stay in --http-dir.
. "$(dirname "$0")/lib.sh"

: "${AUTH_CHECK:?}"
PORT=$(free_port)
start_fake fake-access 320 240
printf 'secret1\n' > "$TMP/pw"
chmod 600 "$TMP/pw"

# attempts SOURCE PASSWORD COUNT: the letters auth-check saw (F failed,
# R refused, O accepted).
attempts() {
	"$AUTH_CHECK" --port "$PORT" --source "$1" --password "$2" --count "$3" > "$TMP/ac" ||
		fail "auth-check: $(cat "$TMP/ac")"
	sed -n 's/.* seq=//p' "$TMP/ac"
}
expect_seq() { # WHAT EXPECTED GOT
	[ "$3" = "$2" ] || fail "$1: $3, expected $2 (F failed, R refused, O accepted)"
}

# Blocks of 2 s, then 4 s, for the test (the default is 10 s).
MIRAGE_VNC_BLACKLIST_TIMEOUT=2 start_vnc --mirror fake-access --listen "127.0.0.1:$PORT" \
	--http-port 0 --password-file "$TMP/pw"

# Five wrong passwords are tried and logged; the next connections are refused.
s=$(attempts 127.0.0.1 wrong 8)
expect_seq "8 wrong passwords" FFFFFRRR "$s"
n=$(grep -c 'viewer 127.0.0.1: wrong password (failure [0-9]*)' "$TMP/vnc.log" || true)
[ "$n" -eq 5 ] || fail "$n failures logged, expected 5: $(cat "$TMP/vnc.log")"
grep -q 'viewer 127.0.0.1: wrong password (failure 5): blocked for 2 s' "$TMP/vnc.log" ||
	fail "no block logged: $(cat "$TMP/vnc.log")"
grep -q 'viewer 127.0.0.1 refused: blocked for [0-9]* s more after 5 failures' "$TMP/vnc.log" ||
	fail "no refusal logged: $(cat "$TMP/vnc.log")"
pass "5 wrong passwords logged with the address, then refused ($s)"

# While blocked even the right password is refused; another address is not blocked.
expect_seq "right password while blocked" R "$(attempts 127.0.0.1 secret1 1)"
expect_seq "right password from 127.0.0.2" O "$(attempts 127.0.0.2 secret1 1)"
pass "blocked address refused, 127.0.0.2 accepted meanwhile"

# After the block one more try; failing it blocks twice as long.
sleep 2.3
expect_seq "a wrong password after the block" F "$(attempts 127.0.0.1 wrong 1)"
grep -q 'viewer 127.0.0.1: wrong password (failure 6): blocked for 4 s' "$TMP/vnc.log" ||
	fail "the second block is not 4 s: $(tail -n 3 "$TMP/vnc.log")"
sleep 2.3
expect_seq "right password 2.3 s into the 4 s block" R "$(attempts 127.0.0.1 secret1 1)"
sleep 2
expect_seq "right password after the block" O "$(attempts 127.0.0.1 secret1 1)"
pass "block doubled to 4 s, then the right password accepted"

# The success cleared the address: four failures do not block it.
expect_seq "4 wrong after a success" FFFFO "$(attempts 127.0.0.1 wrong 4)$(attempts 127.0.0.1 secret1 1)"
pass "a success clears the count"

# Connections opened in parallel, all answering wrong: still 5 tries counted
# (a connection let in before the block is refused at its answer).
before=$(grep -c 'wrong password (failure' "$TMP/vnc.log")
par=""
for i in 1 2 3 4 5 6; do
	"$AUTH_CHECK" --port "$PORT" --source 127.0.0.3 --password wrong --count 3 \
		> "$TMP/par.$i" 2>&1 &
	par="$par $!"
	PIDS="$PIDS $!"
done
for p in $par; do wait "$p" || fail "auth-check: $(cat "$TMP"/par.*)"; done
after=$(grep -c 'wrong password (failure' "$TMP/vnc.log")
[ $((after - before)) -eq 5 ] || fail "$((after - before)) tries counted from parallel connections"
grep -q 'already blocked' "$TMP/vnc.log" && fail "a blocked address's password was checked"
pass "18 parallel attempts: 5 passwords tried"
stop_vnc

# Default parameters (5 failures, 10 s): 50 wrong passwords' wall time.
start_vnc --mirror fake-access --listen "127.0.0.1:$PORT" --http-port 0 --password-file "$TMP/pw"
"$AUTH_CHECK" --port "$PORT" --password wrong --count 50 > "$TMP/ac" || fail "auth-check"
grep -q 'failed=5 refused=45' "$TMP/ac" || fail "50 wrong passwords: $(cat "$TMP/ac")"
pass "50 wrong passwords: 5 tried, 45 refused ($(cat "$TMP/ac" | cut -d' ' -f1-4))"
stop_vnc

# A bad knob: exit status 1, one line naming it.
set +e
MIRAGE_VNC_BLACKLIST_TIMEOUT=soon "$MIRAGE_VNC" --mirror fake-access --listen "127.0.0.1:$PORT" \
	--http-port 0 --password-file "$TMP/pw" > "$TMP/out" 2>&1
st=$?
set -e
[ "$st" -eq 1 ] && [ "$(wc -l < "$TMP/out")" -eq 1 ] &&
	grep -q 'MIRAGE_VNC_BLACKLIST_TIMEOUT=soon: expected seconds' "$TMP/out" ||
	fail "bad MIRAGE_VNC_BLACKLIST_TIMEOUT: exit $st: $(cat "$TMP/out")"
pass "bad knob refused: $(cat "$TMP/out")"

# HTTP: symbolic links are followed only while they stay in --http-dir.
HTTP=$((PORT - 100))
mkdir -p "$TMP/www/sub"
echo inside > "$TMP/www/sub/file.txt"
echo secret > "$TMP/secret.txt"
ln -s sub/file.txt "$TMP/www/rel.txt"
ln -s "$TMP/www/sub/file.txt" "$TMP/www/abs.txt"
ln -s ../../www/sub/file.txt "$TMP/www/sub/back.txt" # out and back in
ln -s /etc/passwd "$TMP/www/passwd"
ln -s ../secret.txt "$TMP/www/secret.txt"
ln -s /etc "$TMP/www/etc"
start_vnc --mirror fake-access --listen "127.0.0.1:$PORT" --http-port "$HTTP" --http-dir "$TMP/www"
# Each path: "PATH STATUS FIRST-LINE-OF-BODY".
python3 - "$HTTP" > "$TMP/get" <<'EOS' || fail "HTTP: $(cat "$TMP/get")"
import http.client, sys
port = int(sys.argv[1])
for path in ["/sub/file.txt", "/rel.txt", "/abs.txt", "/sub/back.txt",
             "/passwd", "/secret.txt", "/etc/passwd", "/etc/"]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    print(path, r.status, r.read().decode(errors="replace").split("\n")[0])
    c.close()
EOS
for p in /sub/file.txt /rel.txt /abs.txt /sub/back.txt; do
	grep -qx "$p 200 inside" "$TMP/get" || fail "$p: $(grep "^$p " "$TMP/get")"
done
for p in /passwd /secret.txt /etc/passwd /etc/; do
	grep -qx "$p 404 404 Not Found" "$TMP/get" || fail "$p: $(grep "^$p " "$TMP/get")"
done
for p in passwd secret.txt etc/passwd; do
	grep -q "http: 127.0.0.1: /$p leads out of $TMP/www (a symbolic link): refused" \
		"$TMP/vnc.log" || fail "/$p: no message: $(cat "$TMP/vnc.log")"
done
pass "links inside --http-dir served, links out of it 404 with a message"
stop_vnc
