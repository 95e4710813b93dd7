#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-x11 and the pointer.
#  1. Pointer.Enabled=1: the cursor is composed into the surface with a
#     save-under in the shadow lines.  At each position the surface (and a
#     replica built from the records) equals the root window with the
#     XFIXES cursor image composed at the cursor: the screen outside the
#     cursor rectangle, the cursor inside it, and the area it left restored
#     exactly.  Also over an xterm whose text changes under the cursor.
#  2. Pointer.Enabled=0: `xdotool mousemove X Y` gives PTR_ENGAGE at X,Y and
#     the surface stays exactly the root window (no cursor in it).
set -u
. "$(dirname "$0")/lib.sh"
for tool in xterm xdotool xdpyinfo; do
	command -v $tool >/dev/null || skip "$tool not installed"
done

start_server xvfb
start_mirror --no-xvfb-shmem --set Pointer.Enabled=1
start_xterm
echo 'for i in $(seq 40); do echo "some text under the pointer $i"; done' >"$T/fifo"
sleep 0.5
"$X11_CHECK" pointer "x11-$DPY" ":$DPY" composed >"$T/composed.out" 2>"$T/composed.log"
rc=$?
cat "$T/composed.out"
[ $rc = 0 ] || fail "Pointer.Enabled=1: $(cat "$T/composed.log")"
[ "$(grep -c 'surface = root + cursor' "$T/composed.out")" -ge 6 ] || fail "not every position checked"

# The text under the cursor changes while it is drawn there.
xdotool mousemove 100 80
"$X11_CHECK" steps "x11-$DPY" ":$DPY" >"$T/steps.out" 2>"$T/steps.log" <<EOF
nocheck: echo 'clear; for i in \$(seq 30); do echo "new text \$i under the cursor"; done' > $T/fifo
nocheck: sleep 1
EOF
[ $? = 0 ] || fail "steps under the cursor: $(cat "$T/steps.log")"
"$X11_CHECK" pointer "x11-$DPY" ":$DPY" composed >"$T/composed2.out" 2>"$T/composed2.log" ||
	fail "Pointer.Enabled=1 after text changed under the cursor: $(cat "$T/composed2.log")"
echo "ok: Pointer.Enabled=1 composes the cursor and restores what it covered"
kill "$MIRROR_PID"
wait "$MIRROR_PID" 2>/dev/null

start_mirror --no-xvfb-shmem
"$X11_CHECK" pointer "x11-$DPY" ":$DPY" engage >"$T/engage.out" 2>"$T/engage.log"
rc=$?
cat "$T/engage.out"
[ $rc = 0 ] || fail "Pointer.Enabled=0: $(cat "$T/engage.log")"
[ "$(grep -c 'PTR_ENGAGE at' "$T/engage.out")" -ge 6 ] || fail "not every position checked"
kill -0 "$MIRROR_PID" || fail "mirage-x11 died"
echo "ok: Pointer.Enabled=0: PTR_ENGAGE at the pointer, no cursor in the surface"
echo PASS
