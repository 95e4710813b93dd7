#!/bin/sh
# mirage-vnc against an RFB torture client (torture.c): connections that
# stop halfway through a message and close, bytes trickled before the
# handshake, a WebSocket request that never ends, viewers that never read
# next to a working one.  After each, the network thread is idle (no
# spinning), no socket is left in CLOSE-WAIT, a good viewer connects at
# once and is exact, and at the end mirage-vnc stops on SIGTERM within a
# second with torturers still connected.
. "$(dirname "$0")/lib.sh"
: "${TORTURE:?}"

PORT=$(free_port)
start_fake torture 640 480
start_vnc --mirror torture --listen "127.0.0.1:$PORT" --http-port 0

# CPU clock ticks mirage-vnc used in one second.
ticks() { awk '{ print $14 + $15 }' "/proc/$VNC_PID/stat"; }
cpu_second() {
	t0=$(ticks); sleep 1; t1=$(ticks)
	echo $((t1 - t0))
}

# after WHAT: what every torture must leave behind.
after() {
	for _ in $(seq 40); do
		waiting=$(ss -Htn state close-wait "sport = :$PORT" | wc -l)
		[ "$waiting" = 0 ] && break
		sleep 0.1
	done
	[ "$waiting" = 0 ] || fail "$1: $waiting sockets left in CLOSE-WAIT"
	used=$(cpu_second)
	[ "$used" -le 20 ] || fail "$1: mirage-vnc still uses $used ticks a second"
	start=$(date +%s%N)
	"$VNC_CHECK" --port "$PORT" --mirror torture --timeout 5 > "$TMP/good.out" ||
		fail "$1: a good viewer is not served an exact picture"
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -le 3000 ] || fail "$1: a good viewer took $ms ms"
	kill -0 "$VNC_PID" || fail "$1: mirage-vnc died"
	pass "$1: idle ($used ticks/s), no CLOSE-WAIT, a good viewer exact in $ms ms"
}

"$VNC_CHECK" --port "$PORT" --mirror torture > "$TMP/c0.out" || fail "initial picture"

# 70: more connections than the 64 viewer slots.
"$TORTURE" --port "$PORT" half-version --count 70 || fail "half-version torture"
after "70 ProtocolVersions without their newline, then closed"

"$TORTURE" --port "$PORT" half-request --count 70 || fail "half-request torture"
after "70 handshakes then 3 bytes of a FramebufferUpdateRequest, then closed"

# Four at a time: 1-3 bytes 30 ms in, closed 300 ms later.
TR=""
for i in 1 2 3 4; do "$TORTURE" --port "$PORT" trickle --count 10 & TR="$TR $!"; done
PIDS="$PIDS $TR"
for p in $TR; do wait "$p"; done
after "40 connections trickling 1-3 bytes before the handshake, then closed"

# WebSocket heads a byte at a time, still trickling while a viewer comes.
TR=""
for i in $(seq 20); do
	"$TORTURE" --port "$PORT" ws-trickle --hold 6 &
	TR="$TR $!"
done
PIDS="$PIDS $TR"
sleep 1
"$VNC_CHECK" --port "$PORT" --mirror torture --timeout 5 > "$TMP/ws.out" ||
	fail "a viewer next to 20 trickled WebSocket requests"
pass "a good viewer exact next to 20 WebSocket requests trickled a byte at a time"
for p in $TR; do wait "$p"; done
after "20 trickled WebSocket requests"

# Raw-only viewers that never read (the server draws the cursor into their
# updates) next to a working viewer while the screen changes under the
# cursor: the working viewer's picture never gets their cursor.
fake "cursor 300 200"
fake_sync
ST=""
for i in 1 2; do
	"$TORTURE" --port "$PORT" stuck --hold 15 &
	ST="$ST $!"
done
PIDS="$PIDS $ST"
sleep 0.5
cat > "$TMP/under.sh" <<EOS
exec 7> "$TMP/fake.in"
for i in \$(seq 30); do
	echo "noise 0 0 640 480 \$i" >&7
	echo "cursor \$((280 + i)) \$((190 + i))" >&7
	sleep 0.05
done
EOS
"$VNC_CHECK" --port "$PORT" --mirror torture --timeout 10 -- sh "$TMP/under.sh" > "$TMP/stuck.out" ||
	fail "a working viewer next to two that never read"
pass "a working viewer exact next to two that never read: $(cat "$TMP/stuck.out")"
for _ in $(seq 100); do
	[ "$(grep -c 'has not read' "$TMP/vnc.log")" -ge 2 ] && break
	kill -0 "$VNC_PID" || fail "mirage-vnc died"
	sleep 0.1
done
grep -q 'has not read' "$TMP/vnc.log" || fail "the viewers that never read were not dropped"
after "two viewers that never read, dropped"

# SIGTERM with torturers connected: trickling, half-way, never reading.
"$TORTURE" --port "$PORT" ws-trickle --hold 10 & PIDS="$PIDS $!"
"$TORTURE" --port "$PORT" stuck --hold 10 & PIDS="$PIDS $!"
"$TORTURE" --port "$PORT" trickle --count 3 & PIDS="$PIDS $!"
sleep 0.5
stop_vnc_at_once "with torturers connected"
