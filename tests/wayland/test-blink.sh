#!/bin/sh
# SPDX-License-Identifier: MIT
# Refinement: an idle foot whose only change is a blinking cell publishes
# records of that cell, not of the window the compositor damages.  Over
# four seconds (eight blinks at foot's 500 ms) wl-check counts the BLIT
# records: at least four, the largest at most four cells' worth of pixels,
# all of them together under 1% of the output.
#
# A blinking *cursor* ([cursor] blink=yes) blinks only with keyboard focus,
# which a headless sway without input devices never gives, so the cell
# blinks by its attribute (SGR 5): the same timer, the same redraw of the
# cell's row.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/check.sh"

start_mirror --set Cap.Bootup=2
check_start
printf '[cursor]\nblink=yes\n' > "$T/home/foot.ini"
chmod 644 "$T/home/foot.ini"
# The terminal's size tells the cell's (the window is the whole output),
# once sway has given the window its size.
as_user foot -c "$T/home/foot.ini" -e sh -c \
	'printf "idle \033[5mX\033[0m"; sleep 1; stty size > "$HOME/size"; exec sleep 600' > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$T/home/size" ] && break; sleep 0.1; done
[ -s "$T/home/size" ] || fail "foot did not start"
read -r rows cols < "$T/home/size"
cell=$(( (1280 / cols) * (800 / rows) ))
sleep 1
check_cmd reset
sleep 4
check_cmd stats
echo "blinking cell, 4 s: $REPLY (a cell is at most $cell pixels, ${cols}x$rows cells)"
n=$(echo "$REPLY" | sed -n 's/.* blits=\([0-9]*\).*/\1/p')
largest=$(echo "$REPLY" | sed -n 's/.* largest=\([0-9]*\).*/\1/p')
area=$(echo "$REPLY" | sed -n 's/.* area=\([0-9]*\).*/\1/p')
[ "${n:-0}" -ge 4 ] || fail "the blinking cell gave only ${n:-0} BLIT records in 4 s"
[ "$largest" -le $((4 * cell)) ] || fail "a blink published $largest pixels in one record, over 4 cells ($((4 * cell)))"
[ "$area" -lt $((1280 * 800 / 100)) ] || fail "4 s of blinking published $area pixels, over 1% of the output"
pass "the blinking cell: $n records, the largest $largest pixels, $area in all"
echo "PASS"
