#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-x11 against a real X server: after each workload settles, the
# surface and a replica built from the change records equal the root
# window (XGetImage), and at the end the root window (GetImage) byte for byte.
#
#   test-workloads.sh xvfb           Xvfb, pixels through MIT-SHM
#   test-workloads.sh xvfb-shmem     Xvfb -shmem, pixels from its framebuffer
#   test-workloads.sh xorg           Xorg + dummy driver, no mirage module
#   test-workloads.sh xvfb-xcompmgr  Xvfb with the xcompmgr compositing manager
set -u
. "$(dirname "$0")/lib.sh"

MODE=${1:-xvfb}
for tool in xterm xdotool x11perf xdpyinfo xrandr; do
	command -v $tool >/dev/null || skip "$tool not installed"
done

case "$MODE" in
xvfb) start_server xvfb; start_mirror --no-xvfb-shmem ;;
xvfb-shmem) start_server xvfb-shmem; start_mirror ;;
xorg) start_server xorg; start_mirror ;;
xvfb-xcompmgr)
	command -v xcompmgr >/dev/null || skip "xcompmgr not installed (apt-get install xcompmgr)"
	start_server xvfb
	xcompmgr >"$T/xcompmgr.log" 2>&1 &
	PIDS="$PIDS $!"
	sleep 0.5
	start_mirror
	;;
*) fail "unknown mode $MODE" ;;
esac
start_xterm

# Window moves and scrolls must come out as copies -- except under a
# compositing manager, which repaints windows through its own pictures:
# there they may, but need not.
C="copy:"
[ "$MODE" = xvfb-xcompmgr ] && C=""

SCROLL='for i in $(seq 80); do echo "line $i of some scrolling text"; sleep 0.01; done'
"$X11_CHECK" steps "x11-$DPY" ":$DPY" "$T/mirror.ppm" >"$T/check.out" 2>"$T/check.log" <<EOF
echo 'seq 1 30' > $T/fifo
$C echo '$SCROLL' > $T/fifo
$C xdotool windowmove --sync $WID 300 200
$C for x in 310 330 360 400 450; do xdotool windowmove --sync $WID \$x 220; done
nocheck: xdotool mousemove 500 500
x11perf -repeat 1 -reps 3000 -rect10 -rect100 -tilerect100 -oddtilerect10 -seg10 -ftext -scroll10 -copywinwin10 >$T/x11perf.log 2>&1
$C echo 'clear; $SCROLL' > $T/fifo
xdotool windowmove --sync $WID 0 0
xrandr -s 800x600 2>/dev/null || xrandr --fb 800x600 2>/dev/null; sleep 0.5
echo 'seq 1 40' > $T/fifo
EOF
rc=$?
cat "$T/check.out"
[ $rc = 0 ] || fail "x11-check: $(cat "$T/check.log")"
grep -q '^step 10 ok' "$T/check.out" || fail "not every step ran"

# The size really changed, and the mirror followed.
xdpyinfo | grep -q 'dimensions: *800x600' || echo "note: the server did not resize; resize not exercised"

# Byte for byte against the root window (GetImage), as a PPM.
"$X11_CHECK" root-ppm ":$DPY" "$T/root.ppm" || fail "GetImage of the root failed"
cmp "$T/root.ppm" "$T/mirror.ppm" || fail "mirror snapshot differs from the root window"
echo "the root window equals the mirror ($(wc -c <"$T/root.ppm") bytes)"

if [ "$MODE" = xvfb-shmem ]; then
	grep -q "reading pixels from Xvfb's framebuffer" "$T/mirage-x11.log" || fail "did not read from Xvfb's framebuffer"
fi
kill -0 "$MIRROR_PID" || fail "mirage-x11 died"
echo PASS
