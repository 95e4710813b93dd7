#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-wayland --max-fps: under a stream of frames (foot printing a line
# every 10 ms for 3 s) it captures at most that many frames a second, and
# the mirror still ends equal to grim's screenshot; a bad value is a usage
# error naming it.
. "$(dirname "$0")/lib.sh"

out=$(as_user "$WL_BIN" --max-fps 0 2>&1) && fail "--max-fps 0 was accepted"
echo "$out" | grep -q -- "--max-fps 0: expected 1 to 1000" || fail "--max-fps 0: no message naming it ($out)"
as_user "$WL_BIN" --max-fps 10x > /dev/null 2>&1
[ $? -eq 2 ] || fail "--max-fps 10x: not a usage error"
pass "a bad --max-fps is a usage error naming it"

start_mirror --set Cap.Bootup=2 --max-fps 10
settled "idle desktop"
frames() {
	as_user "$CTL_BIN" status wl-HEADLESS-1 2>/dev/null | sed -n 's/.*frames=\([0-9]*\).*/\1/p' | head -1
}
f0=$(frames)
as_user foot -e sh -c 'i=0; while [ $i -lt 300 ]; do i=$((i + 1)); echo "line $i"; sleep 0.01; done; exec sleep 600' > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
sleep 4
f1=$(frames)
n=$((f1 - f0))
echo "frames captured in 4 s of printing at --max-fps 10: $n"
# 4 s at 10 a second, a first frame at once and the window's opening.
[ "$n" -le 45 ] || fail "--max-fps 10 captured $n frames in 4 s"
[ "$n" -ge 10 ] || fail "only $n frames captured while foot printed"
pass "$n frames in 4 s at --max-fps 10"
settled "foot printing, paced"
