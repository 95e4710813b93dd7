#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-wayland against a real headless sway, run as a throwaway user
# (a Wayland socket belongs to its compositor's user): the mirror is listed
# with driver wayland, its snapshot equals grim's screenshot after each
# workload settles (idle, foot printing and scrolling, an output resize),
# and killing sway ends mirage-wayland with status 1 and its message.
. "$(dirname "$0")/lib.sh"

start_mirror --set Cap.Bootup=2 --verbose
as_user "$CTL_BIN" list > "$T/list.out" 2>&1
grep -E '^wl-HEADLESS-1[[:space:]].*wayland' "$T/list.out" > /dev/null ||
	{ cat "$T/list.out"; fail "miragectl list does not show wl-HEADLESS-1 with driver wayland"; }
pass "listed as wl-HEADLESS-1, driver wayland"

settled "idle desktop"
# A still screen: no frame from the compositor, so no CPU (utime+stime in
# clock ticks over 30 s; a frame a vsync would be hundreds).
# The process itself, not runuser: the only mirage-wayland of the test's user.
WL_REAL=$(pgrep -u "$U" -x mirage-wayland | head -1)
[ -n "$WL_REAL" ] || fail "cannot find mirage-wayland's process"
ticks() { awk '{ print $14 + $15 }' "/proc/$WL_REAL/stat"; }
t0=$(ticks)
sleep "${IDLE_SECONDS:-30}"
t1=$(ticks)
echo "idle: mirage-wayland used $((t1 - t0)) clock ticks in ${IDLE_SECONDS:-30} s"
[ $((t1 - t0)) -le 10 ] || fail "idle mirage-wayland used $((t1 - t0)) clock ticks in ${IDLE_SECONDS:-30} s"
pass "idle costs no CPU"
# Slowly enough that the compositor shows many scrolled frames.
as_user foot -e sh -c 'i=0; while [ $i -lt 150 ]; do i=$((i + 1)); echo "line $i"; sleep 0.03; done; exec sleep 600' > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
settled "foot printing and scrolling"
# The scroll reached consumers as verified copies (the driver's counters).
as_user "$CTL_BIN" status wl-HEADLESS-1 > "$T/status.out" 2>&1
copies=$(sed -n 's/.*copies=\([0-9]*\).*/\1/p' "$T/status.out" | head -1)
[ "${copies:-0}" -ge 1 ] || { cat "$T/status.out"; fail "foot's scroll gave no verified SCREEN_SCREEN record"; }
pass "foot's scroll published as $copies SCREEN_SCREEN records"
swaymsg_u output HEADLESS-1 resolution 1024x768
settled "output resized to 1024x768"
head -2 "$T/home/snap.ppm" | tr '\n' ' ' | grep -q '1024 768' || fail "snapshot is not 1024x768 after the resize"

kill "$(cat "$T/home/sway.pid")"
for _ in $(seq 200); do kill -0 "$WL_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$WL_PID" 2>/dev/null && fail "mirage-wayland still runs after sway went"
wait "$WL_PID"; rc=$?
[ "$rc" = 1 ] || fail "mirage-wayland exited $rc, not 1, when sway went"
grep -q "compositor.*went away" "$T/wayland.log" || fail "no message about the compositor going"
pass "sway killed: mirage-wayland exited 1 with its message"
echo "PASS"
