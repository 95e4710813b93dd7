#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-wayland's GNOME backend and monitor changes.  The monitor rotated
# (DisplayConfig.ApplyMonitorsConfig, transform 90: mutter restarts its
# streams) gives ASSERT_OFF, a new pipe of 800x1280 and ASSERT_ON; the
# mirror, and a replica built from the records of the new pipe, equal an
# independent ScreenCast frame, and the monitor layout in the surface
# header is the rotated one.  Rotated back: 1280x800 again, the same.
# (--virtual is not here: in a clean-clone CI run mutter sent a new
# virtual monitor no first frame within 5 s; see docs/mirage-wayland.md.)
# Mutter quitting (the end of the mirror) is gnome-gnome's.
GN_NEEDS="gdbus gtk3-icon-browser"
. "$(dirname "$0")/lib.sh"
CHECK_MIRROR=$MIRROR CHECK_REF=$T/home/frame.ppm
. "$(dirname "$0")/../wayland/check.sh"

dc() {
	as_user gdbus call --session --dest org.gnome.Mutter.DisplayConfig \
		--object-path /org/gnome/Mutter/DisplayConfig --method "org.gnome.Mutter.DisplayConfig.$@"
}
# rotate T: Meta-0 with transform T (0 normal, 1 90 degrees), applied now.
rotate() {
	serial=$(dc GetCurrentState | sed -n 's/^(uint32 \([0-9]*\),.*/\1/p')
	[ -n "$serial" ] || fail "no serial from DisplayConfig.GetCurrentState"
	dc ApplyMonitorsConfig "$serial" 1 \
		"[(0, 0, 1.0, uint32 $1, true, [('$CONNECTOR', '1280x800@60.000', @a{sv} {})])]" '@a{sv} {}' \
		> /dev/null || fail "mutter refused transform $1"
}
# turn T: rotate T, then waits for the mirror's ASSERT_OFF (10 s at most).
turn() {
	off=$(grep -c '^event ASSERT_OFF$' "$T/check.out")
	rotate "$1"
	for _ in $(seq 100); do
		[ "$(grep -c '^event ASSERT_OFF$' "$T/check.out")" -gt "$off" ] && return 0
		sleep 0.1
	done
	fail "no ASSERT_OFF when the monitor turned to transform $1"
}
# size_is W H: the snapshot (settled's) is W x H, and so is the layout.
size_is() {
	head -2 "$T/home/snap.ppm" | tr '\n' ' ' | grep -q "^P6 $1 $2 " ||
		fail "the snapshot is $(head -2 "$T/home/snap.ppm" | tail -1), not $1x$2"
	as_user "$CTL_BIN" status "$MIRROR" | grep -q "^  $CONNECTOR 0,0,$1,$2" ||
		fail "the layout is not $CONNECTOR at 0,0,$1,$2: $(as_user "$CTL_BIN" status "$MIRROR" | grep -A2 '^monitors')"
}

start_mirror --set Cap.Bootup=2
check_start
replica_settled "the bare monitor"
# The window must have shown before the next comparison counts.
cp "$T/home/frame.ppm" "$T/home/before.ppm"
CHANGED_FROM=$T/home/before.ppm
bg browser.log gtk3-icon-browser
replica_settled "a window on the monitor"
CHANGED_FROM=
size_is 1280 800

turn 1
wait_event ASSERT_ON || fail "no ASSERT_ON on the new pipe"
replica_settled "the monitor turned 90 degrees"
size_is 800 1280
grep -q 'mutter restarted its stream' "$T/wayland.log" || fail "no word of the restart: $(cat "$T/wayland.log")"
pass "turned: ASSERT_OFF, a new 800x1280 pipe, ASSERT_ON, equal to the screen"

turn 0
replica_settled "the monitor turned back"
size_is 1280 800
kill -0 "$WL_PID" || fail "mirage-wayland exited"
pass "turned back: 1280x800 again, equal to the screen"

echo PASS
