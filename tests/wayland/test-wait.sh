#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-wayland --wait outlives its compositor: when sway is killed the
# consumer sees ASSERT_OFF and mirage-wayland keeps running; a new sway in
# the same XDG_RUNTIME_DIR with the same socket name is mirrored again, the
# snapshot equals grim, and the consumer that stayed finds the new pipe
# and its replica equals grim too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/check.sh"

start_mirror --wait --set Cap.Bootup=2
check_start
replica_settled "idle desktop"

old=$(cat "$T/home/sway.pid")
kill "$old"
for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
kill -0 "$old" 2>/dev/null && fail "sway did not stop"
wait_event ASSERT_OFF || { cat "$T/check.out"; fail "sway killed: the consumer saw no ASSERT_OFF"; }
wait_event gone || fail "sway killed: the mirror is still there for the consumer"
sleep 2
kill -0 "$WL_PID" 2>/dev/null || { cat "$T/wayland.log"; fail "mirage-wayland --wait exited when sway went"; }
grep -q "compositor.*went away" "$T/wayland.log" || fail "no message about the compositor going"
pass "sway killed: the consumer saw ASSERT_OFF, mirage-wayland --wait keeps running"

pipes=$(grep -c '^event pipe' "$T/check.out")
start_sway
pass "a new sway up on $s"
for _ in $(seq 200); do
	as_user "$CTL_BIN" list --no-header 2>/dev/null | grep -q '^wl-HEADLESS-1' && break
	kill -0 "$WL_PID" 2>/dev/null || fail "mirage-wayland exited"
	sleep 0.1
done
as_user foot -e sh -c 'echo in the new sway; exec sleep 600' > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
replica_settled "the new sway with foot"
[ "$(grep -c '^event pipe' "$T/check.out")" -gt "$pipes" ] || fail "the consumer did not map the new pipe"
pass "mirrored again: the consumer that stayed follows the new pipe"
echo "PASS"
