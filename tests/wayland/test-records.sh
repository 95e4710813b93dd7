#!/bin/sh
# SPDX-License-Identifier: MIT
# Every pixel sway changes lies in a record: wl-check follows the mirror
# with a replica built only from the change records, and after each
# workload settles (foot printing and scrolling; a second window opened,
# moved to workspace 2 and back, closed; the output resized) the snapshot
# and the replica both equal grim's screenshot.  The resize reaches the
# consumer as ASSERT_OFF, a new pipe, ASSERT_ON; killing sway as ASSERT_OFF.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/check.sh"

start_mirror --set Cap.Bootup=2
check_start
replica_settled "idle desktop"

as_user foot -e sh -c 'i=0; while [ $i -lt 150 ]; do i=$((i + 1)); echo "line $i"; sleep 0.03; done; exec sleep 600' > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
replica_settled "foot printing and scrolling"
check_cmd stats
copies=$(echo "$REPLY" | sed -n 's/.* copies=\([0-9]*\).*/\1/p')
[ "${copies:-0}" -ge 1 ] || fail "foot's scroll reached the consumer with no SCREEN_SCREEN record ($REPLY)"
pass "foot's scroll: $copies SCREEN_SCREEN records applied to the replica"

as_user foot -e sh -c 'echo second window; exec sleep 600' > "$T/foot2.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	[ "$(as_user swaymsg -s "$T/xdg/$SOCK" -t get_tree | grep -c '"app_id": "foot"')" -ge 2 ] && break
	sleep 0.1
done
replica_settled "a second window opened"
swaymsg_u move container to workspace 2
replica_settled "the window moved to workspace 2"
swaymsg_u workspace 2
replica_settled "workspace 2 shown"
swaymsg_u move container to workspace 1
swaymsg_u workspace 1
replica_settled "the window moved back to workspace 1"
swaymsg_u kill
replica_settled "the window closed"

swaymsg_u output HEADLESS-1 resolution 1024x768
replica_settled "output resized to 1024x768"
head -2 "$T/home/replica.ppm" | tr '\n' ' ' | grep -q '1024 768' || fail "the replica is not 1024x768 after the resize"
grep '^event ' "$T/check.out" | tr '\n' ' ' | grep -q 'event ASSERT_OFF event pipe 1024x768 event ASSERT_ON' ||
	{ grep '^event' "$T/check.out"; fail "the resize did not reach the consumer as ASSERT_OFF, a new pipe, ASSERT_ON"; }
pass "the resize reached the consumer as ASSERT_OFF, a new 1024x768 pipe, ASSERT_ON"

off0=$(grep -c '^event ASSERT_OFF$' "$T/check.out")
kill "$(cat "$T/home/sway.pid")"
for _ in $(seq 200); do kill -0 "$WL_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$WL_PID" 2>/dev/null && fail "mirage-wayland still runs after sway went"
wait "$WL_PID"; rc=$?
[ "$rc" = 1 ] || fail "mirage-wayland exited $rc, not 1, when sway went"
for _ in $(seq 50); do [ "$(grep -c '^event ASSERT_OFF$' "$T/check.out")" -gt "$off0" ] && break; sleep 0.1; done
[ "$(grep -c '^event ASSERT_OFF$' "$T/check.out")" -gt "$off0" ] || { cat "$T/check.out"; fail "sway killed: the consumer saw no ASSERT_OFF"; }
pass "sway killed: mirage-wayland exited 1 and the consumer saw ASSERT_OFF"
echo "PASS"
