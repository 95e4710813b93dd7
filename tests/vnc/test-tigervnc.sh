#!/bin/sh
# TigerVNC's viewer (xtigervncviewer under Xvfb) on mirage-vnc: after each
# workload settles, a screenshot of its window (xwd -id) equals the mirror
# surface pixel for pixel (ZRLE, no JPEG, full colour).
. "$(dirname "$0")/lib.sh"

for p in Xvfb xtigervncviewer xwd xdotool; do
	command -v "$p" > /dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
MIRAGECTL=${MIRAGECTL:-${BUILD_ROOT:+$BUILD_ROOT/src/tools/miragectl}}
MIRAGECTL=${MIRAGECTL:-$(dirname "$MIRAGE_VNC")/../miragectl}
[ -x "$MIRAGECTL" ] || fail "no miragectl (set MIRAGECTL)"
HERE=$(cd "$(dirname "$0")" && pwd)

PORT=$(free_port)
start_xvfb 1000x800x24
xdotool mousemove 990 790 # the viewer draws the cursor where the pointer is

start_fake fake-tiger 640 480
start_vnc --mirror fake-tiger --listen "127.0.0.1:$PORT" --http-port 0
xtigervncviewer -SecurityTypes None -PreferredEncoding ZRLE -AutoSelect=0 -NoJPEG=1 \
	-FullColor=1 -Shared=1 -RemoteResize=0 -DotWhenNoCursor=0 -AlertOnFatalError=0 \
	-geometry +0+0 "127.0.0.1::$PORT" > "$TMP/viewer.log" 2>&1 &
VIEWER=$!
PIDS="$PIDS $VIEWER"

WIN=""
for _ in $(seq 300); do
	WIN=$(xdotool search --onlyvisible --pid "$VIEWER" 2>/dev/null | head -n 1 || true)
	[ -n "$WIN" ] && break
	sleep 0.1
done
[ -n "$WIN" ] || fail "no TigerVNC viewer window"

# settle NAME: screenshots until the window equals the surface (20 s).
settle() {
	t0=$(date +%s)
	while [ $(($(date +%s) - t0)) -lt 20 ]; do
		"$MIRAGECTL" snapshot fake-tiger "$TMP/s.ppm" 2> /dev/null
		if xwd -silent -id "$WIN" > "$TMP/w.xwd" 2> /dev/null &&
		   python3 "$HERE/xwd-compare.py" "$TMP/w.xwd" "$TMP/s.ppm" > "$TMP/cmp.out"; then
			pass "$1: TigerVNC's window equals the surface"
			return 0
		fi
		sleep 0.3
	done
	fail "$1: TigerVNC's window differs from the surface ($(cat "$TMP/cmp.out") pixels)"
}

settle "initial picture"

fake "noise 50 50 200 150 7"
x=50; y=50
for i in $(seq 30); do
	fake "copy $x $y 200 150 6 4"
	fake "fill $x $y 6 150 304050"
	fake "fill $x $y 200 4 304050"
	x=$((x + 6)); y=$((y + 4))
	sleep 0.02
done
settle "window drag"

for i in $(seq 40); do fake "scroll 20 20 560 400 12"; sleep 0.01; done
settle "scroll"

# The comparison can fail: one pixel of the snapshot changed.
"$MIRAGECTL" snapshot fake-tiger "$TMP/s.ppm" 2> /dev/null
xwd -silent -id "$WIN" > "$TMP/w.xwd"
printf '\001' | dd of="$TMP/s.ppm" bs=1 seek=100 conv=notrunc 2> /dev/null
if python3 "$HERE/xwd-compare.py" "$TMP/w.xwd" "$TMP/s.ppm" > "$TMP/cmp.out"; then
	fail "xwd-compare found no difference in a changed snapshot"
fi
[ "$(cat "$TMP/cmp.out")" = 1 ] || fail "xwd-compare: $(cat "$TMP/cmp.out") (expected 1)"
pass "a one-pixel difference is caught"
stop_vnc
