#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-x11 faults: a consumer that never reads loses its track (LOST) and
# recovers exactly, without slowing or stopping the mirror; the X server killed while mirroring makes mirage-x11 post
# ASSERT_OFF and exit 1 with a message, and consumers keep their mapping;
# with --wait it comes back when the server does.
set -u
. "$(dirname "$0")/lib.sh"
for tool in xterm xdotool xdpyinfo; do
	command -v $tool >/dev/null || skip "$tool not installed"
done

# 1. A consumer that never reads while the mirror keeps publishing, on a
# small ring (16 slots, the minimum): the workload posts far more than half of it, so the
# sleeping consumer must find MIRAGE_POLL_LOST, and after a full refresh
# follow the ring to an exact copy of the screen; the mirror and its
# reading consumer must not notice.
CAP=16
start_server xvfb
start_mirror --no-xvfb-shmem --capacity $CAP
start_xterm
# It looks when the workload is over (its stdin closes), or after 40 s.
mkfifo "$T/go"
"$X11_CHECK" idle "x11-$DPY" 40 ":$DPY" <"$T/go" >"$T/idle.out" 2>&1 &
IDLE=$!
PIDS="$PIDS $IDLE"
exec 5>"$T/go"
sleep 0.5
"$X11_CHECK" steps "x11-$DPY" ":$DPY" >"$T/check.out" 2>"$T/check.log" <<EOF
echo 'for i in \$(seq 300); do echo "line \$i"; done' > $T/fifo
for x in \$(seq 10 10 300); do xdotool windowmove --sync $WID \$x 40; done
EOF
[ $? = 0 ] || fail "mirror wrong while a consumer never reads: $(cat "$T/check.log")"
exec 5>&-
wait $IDLE || fail "the idle consumer failed: $(cat "$T/idle.out")"
cat "$T/idle.out"
grep -q 'poll=LOST' "$T/idle.out" || fail "the idle consumer did not see MIRAGE_POLL_LOST"
records=$(sed -n 's/.*position \([0-9]*\) -> counter \([0-9]*\).*/\2 \1/p' "$T/idle.out" | awk '{ print $1 - $2 }')
[ "${records:-0}" -gt $((CAP / 2)) ] || fail "only ${records:-0} records while the consumer slept (need > $((CAP / 2)))"
grep -q 'surface equals the screen' "$T/idle.out" || fail "no exact refresh after LOST"
kill -0 "$MIRROR_PID" || fail "mirage-x11 died"
echo "ok: a consumer that never reads: $records records on a $CAP-slot ring -> LOST, exact after a refresh"

# 2. The X server killed while mirroring.
"$X11_CHECK" until-off "x11-$DPY" 20 >"$T/off.out" 2>&1 &
OFF=$!
PIDS="$PIDS $OFF"
for _ in $(seq 50); do grep -q ready "$T/off.out" && break; sleep 0.1; done
kill -9 "$SERVER_PID"
for _ in $(seq 100); do kill -0 "$MIRROR_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MIRROR_PID" 2>/dev/null && fail "mirage-x11 still running after the X server died"
wait "$MIRROR_PID"
rc=$?
[ $rc = 1 ] || fail "mirage-x11 exited with $rc, expected 1"
grep -q "lost the connection to X display" "$T/mirage-x11.log" || fail "no clear message"
wait $OFF || fail "consumer: $(cat "$T/off.out")"
cat "$T/off.out"
[ -e "$MIRAGE_DIR/x11-$DPY.sock" ] && fail "socket left behind"
echo "ok: server killed -> ASSERT_OFF, exit 1: $(grep lost "$T/mirage-x11.log")"

# 3. --wait: the mirror comes back with the server; SIGTERM ends it cleanly.
start_server xvfb
"$MIRAGE_X11" --display ":$DPY" --wait --no-xvfb-shmem >"$T/mirage-wait.log" 2>&1 &
WPID=$!
PIDS="$PIDS $WPID"
for _ in $(seq 50); do [ -S "$MIRAGE_DIR/x11-$DPY.sock" ] && break; sleep 0.1; done
kill -9 "$SERVER_PID"
sleep 1
kill -0 $WPID 2>/dev/null || fail "--wait: mirage-x11 exited when the server died"
[ -e "$MIRAGE_DIR/x11-$DPY.sock" ] && fail "--wait: socket kept while the server is gone"
REUSE_DPY=$DPY start_server xvfb
for _ in $(seq 50); do [ -S "$MIRAGE_DIR/x11-$DPY.sock" ] && break; sleep 0.1; done
[ -S "$MIRAGE_DIR/x11-$DPY.sock" ] || fail "--wait: mirror did not come back"
echo "true" | "$X11_CHECK" steps "x11-$DPY" ":$DPY" >/dev/null 2>"$T/check2.log" ||
	fail "--wait: mirror wrong after coming back: $(cat "$T/check2.log")"
kill -TERM $WPID
wait $WPID
rc=$?
[ $rc = 0 ] || fail "SIGTERM: exit status $rc, expected 0"
echo "ok: --wait reconnects; SIGTERM exits 0"
echo PASS
