#!/bin/sh
# SPDX-License-Identifier: MIT
# Window moves from the pixels alone: Wayland tells a client no window
# positions, and wlroots reports one damage box a frame.  A floating foot
# full of text is moved diagonally (right and down, then left and up) by
# swaymsg; mirage-wayland must publish verified SCREEN_SCREEN records for
# the moves, and after each settles the snapshot and the replica built
# from the records alone equal grim's screenshot.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/check.sh"

start_mirror --set Cap.Bootup=2
check_start
replica_settled "idle desktop"

as_user foot --app-id wlmove -e sh -c 'i=0; while [ $i -lt 40 ]; do i=$((i + 1)); echo "line $i: the quick brown fox jumps over the lazy dog"; done; exec sleep 600' > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	as_user swaymsg -s "$T/xdg/$SOCK" -t get_tree | grep -q '"app_id": "wlmove"' && break
	sleep 0.1
done
swaymsg_u '[app_id=wlmove] floating enable, resize set 640 400, move position 40 40'
replica_settled "a floating window"

check_cmd stats
before=$(echo "$REPLY" | sed -n 's/.* copies=\([0-9]*\).*/\1/p')
for i in 1 2 3 4 5 6; do
	swaymsg_u "[app_id=wlmove] move position $((40 + i * 8)) $((40 + i * 5))"
	sleep 0.15
done
replica_settled "the window moved right and down"
for i in 1 2 3; do
	swaymsg_u "[app_id=wlmove] move position $((88 - i * 11)) $((70 - i * 7))"
	sleep 0.15
done
replica_settled "the window moved left and up"
check_cmd stats
after=$(echo "$REPLY" | sed -n 's/.* copies=\([0-9]*\).*/\1/p')
[ $((${after:-0} - ${before:-0})) -ge 3 ] ||
	fail "9 diagonal moves gave $((${after:-0} - ${before:-0})) SCREEN_SCREEN records, not 3 or more ($REPLY)"
pass "9 diagonal moves: $((after - before)) SCREEN_SCREEN records applied to the replica"
echo "PASS"
