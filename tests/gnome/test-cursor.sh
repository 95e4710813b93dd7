#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-wayland's GNOME backend and the pointer (Pointer.Enabled=0: mutter's
# cursor metadata).  The pointer moved through RemoteDesktop (gn-input) gives
# PTR_ENGAGE at each position; over a text view (zenity --text-info) the
# shape is the theme's text cursor: PTR_SHAPE with the hotspot of
# Adwaita's xterm cursor and `miragectl shape` its very pixels; over the
# desktop the arrow (left_ptr), and back.  The frames carry no cursor: the
# snapshot equals an independent ScreenCast frame with the cursor hidden.
# Pointer.Enabled=1 (a new mirror): the cursor is in the frames, no PTR_*.
# Mutter 43 headless: until the pointer first goes over a window that sets
# a cursor, it has no picture of its own arrow (an empty sprite).
GN_NEEDS="zenity python3"
. "$(dirname "$0")/lib.sh"
[ -n "${GN_INPUT:-}" ] || skip "GN_INPUT not set"
THEME=/usr/share/icons/Adwaita/cursors
[ -f "$THEME/xterm" ] && [ -f "$THEME/left_ptr" ] || skip "no Adwaita cursor theme"

# xcursor NAME: "W H XHOT YHOT" of the 24 px image of the theme's cursor
# NAME; its pixels, R G B A, into $T/NAME.rgba.
xcursor() {
	python3 - "$THEME/$1" "$T/$1.rgba" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
ntoc = struct.unpack('<I', d[12:16])[0]
for i in range(ntoc):
    kind, size, pos = struct.unpack('<III', d[16 + 12 * i:28 + 12 * i])
    if kind != 0xfffd0002 or size != 24:
        continue
    _, _, _, _, w, h, xh, yh, _ = struct.unpack('<9I', d[pos:pos + 36])
    px = d[pos + 36:pos + 36 + w * h * 4]
    with open(sys.argv[2], 'wb') as f:
        for j in range(w * h):
            b, g, r, a = px[4 * j:4 * j + 4]
            f.write(bytes([r, g, b, a]))
    print(w, h, xh, yh)
    break
EOF
}
# shape_is NAME HOW: the mirror's cursor (miragectl shape: un-premultiplied
# RGBA) is the theme's NAME, alpha exact, colour to 1 (two roundings)
# where not transparent.  The Xcursor file holds premultiplied pixels:
# HOW "pre" for a cursor GTK set (it reads them so: the shape is the file
# un-premultiplied), "straight" for mutter's own (mutter 43 takes them for
# straight colour and premultiplies them again: the shape is the bytes).
shape_is() {
	as_user "$CTL_BIN" shape "$MIRROR" "$T/home/shape.pam" > /dev/null || fail "miragectl shape failed"
	python3 - "$T/home/shape.pam" "$T/$1.rgba" "$2" <<'EOF'
import sys
a = open(sys.argv[1], 'rb').read()
want = bytearray(open(sys.argv[2], 'rb').read())
got = a[a.index(b'ENDHDR\n') + 7:]
if len(got) != len(want):
    sys.exit('size %d, not %d' % (len(got) // 4, len(want) // 4))
for j in range(0, len(want), 4):
    al = want[j + 3]
    if sys.argv[3] == 'pre':
        for k in range(3):
            want[j + k] = 0 if al == 0 else min(255, (want[j + k] * 255 + al // 2) // al)
    if got[j + 3] != al or (al and any(abs(got[j + k] - want[j + k]) > 1 for k in range(3))):
        sys.exit('pixel %d: %s, not %s' % (j // 4, list(got[j:j + 4]), list(want[j:j + 4])))
EOF
}
set -- $(xcursor xterm)
[ $# = 4 ] || fail "cannot read the xterm cursor of $THEME"
TEXT_HOT="$3,$4"
set -- $(xcursor left_ptr)
[ $# = 4 ] || fail "cannot read the left_ptr cursor of $THEME"
ARROW_HOT="$3,$4"

start_mirror --set Pointer.Enabled=0 --set Cap.Bootup=2
as_user "$CTL_BIN" watch "$MIRROR" > "$T/watch.out" 2>&1 &
WATCH=$!
PIDS="$PIDS $WATCH"
sleep 0.5

# The input: gn-input reading a FIFO, kept open for the whole test.
mkfifo "$T/input"
chown "$U:" "$T/input"
as_user "$INPUT_BIN" "$CONNECTOR" < "$T/input" > "$T/input.out" 2> "$T/input.log" &
PIDS="$PIDS $!"
exec 3> "$T/input"
# input CMD...: one command; sync waits until gn-input did it.
synced=0
input() {
	echo "$*" >&3
	echo sync >&3
	synced=$((synced + 1))
	for _ in $(seq 100); do
		[ "$(grep -c '^ok$' "$T/input.out")" -ge "$synced" ] && return 0
		sleep 0.05
	done
	fail "gn-input did not do \"$*\": $(cat "$T/input.log")"
}
# seen PATTERN: a watch line matching PATTERN (grep -E) arrives within 5 s.
seen() {
	for _ in $(seq 100); do
		grep -Eq "$1" "$T/watch.out" && return 0
		sleep 0.05
	done
	return 1
}

# shape_seen HOT: a PTR_SHAPE with hotspot HOT after the first $lines of them.
shape_seen() {
	for _ in $(seq 100); do
		grep PTR_SHAPE "$T/watch.out" | tail -n +$((lines + 1)) | grep -q "hot=$1\$" && return 0
		sleep 0.05
	done
	return 1
}
# A text view filling most of the screen; the pointer over it has the
# text cursor (mutter 43 sends an empty sprite for its own arrow until it
# has set it once: a pointer that never left the desktop is invisible,
# PTR_AVERT, to a consumer).
lines=0
bg zenity.log zenity --text-info --editable --width=1100 --height=700 --title=cursor
settled "a text view opened"
input motion 600 420
shape_seen "$TEXT_HOT" ||
	fail "no PTR_SHAPE of the text cursor (hot $TEXT_HOT) over the text view: $(grep PTR_SHAPE "$T/watch.out" | tail -3)"
seen "PTR_ENGAGE pos=600,420\$" || fail "no PTR_ENGAGE at 600,420: $(tail -3 "$T/watch.out")"
shape_is xterm pre || fail "the shape is not the theme's text cursor"
pass "over the text view: PTR_SHAPE hot=$TEXT_HOT, the theme's text cursor pixel for pixel"

# Off the window, over the desktop: mutter's arrow, at every position.
lines=$(grep -c PTR_SHAPE "$T/watch.out")
for pos in "5 5" "1279 799" "40 780" "1200 10" "3 400"; do
	set -- $pos
	input motion "$1" "$2"
	seen "PTR_ENGAGE pos=$1,$2\$" || fail "no PTR_ENGAGE at $1,$2: $(tail -5 "$T/watch.out")"
done
pass "PTR_ENGAGE at every position the pointer was moved to"
shape_seen "$ARROW_HOT" || fail "over the desktop, no PTR_SHAPE of the arrow (hot $ARROW_HOT)"
shape_is left_ptr straight || fail "the shape is not the theme's arrow"
pass "over the desktop: PTR_SHAPE hot=$ARROW_HOT, the theme's arrow pixel for pixel"

lines=$(grep -c PTR_SHAPE "$T/watch.out")
input motion 700 300
shape_seen "$TEXT_HOT" || fail "back over the text view, no PTR_SHAPE of the text cursor"
seen "PTR_ENGAGE pos=700,300\$" || fail "no PTR_ENGAGE at 700,300"
pass "back over the text view: the text cursor again"
input motion 5 5
# The frames have no cursor in them (gn-frame hides it).
settled "the pointer over the desktop"
pid=$(mirror_pid)
kill "$WATCH" "$pid"
for _ in $(seq 100); do
	as_user "$CTL_BIN" list --no-header 2>/dev/null | grep -q "^$MIRROR " || break
	sleep 0.1
done
wait "$WL_PID" 2>/dev/null

# Pointer.Enabled=1: the cursor is in the frames; no PTR_* records.
start_mirror --set Pointer.Enabled=1 --set Cap.Bootup=2
as_user "$CTL_BIN" watch "$MIRROR" > "$T/watch1.out" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
input motion 300 300
input motion 320 330
sleep 1
grep -q 'PTR_' "$T/watch1.out" && fail "Pointer.Enabled=1 published PTR_* records"
screen_frame "$T/home/frame.ppm"
as_user "$CTL_BIN" snapshot "$MIRROR" "$T/home/snap.ppm" > /dev/null || fail "snapshot failed"
same_pixels "$T/home/frame.ppm" "$T/home/snap.ppm" &&
	fail "Pointer.Enabled=1: the snapshot has no cursor in it (equals a frame without)"
pass "Pointer.Enabled=1: the cursor is in the frames, no PTR_* records"
exec 3>&-
echo PASS
