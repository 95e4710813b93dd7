#!/bin/sh
# mirage-vnc --display :N: a running X server (Xvfb with twm and an xterm)
# served through mirage-x11, which mirage-vnc starts and stops.  Exact
# pictures after a window drag (as CopyRect) and typing; input by XTEST.
. "$(dirname "$0")/lib.sh"

for p in Xvfb xterm xdotool; do
	command -v "$p" > /dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
X11=$(dirname "$MIRAGE_VNC")/../../drivers/x11/mirage-x11
[ -x "$X11" ] || { echo "SKIP: mirage-x11 not built"; exit 77; }

PORT=$(free_port)
start_xvfb 1024x768x24
start_twm
xterm -fn fixed -geometry 80x24+40+40 > "$TMP/xterm.log" 2>&1 &
XTERM=$!
PIDS="$PIDS $XTERM"
WIN=""
for _ in $(seq 200); do
	WIN=$(xdotool search --onlyvisible --class xterm 2> /dev/null | head -n 1 || true)
	[ -n "$WIN" ] && break
	kill -0 "$XTERM" 2> /dev/null || fail "xterm on :$D exited: $(cat "$TMP/xterm.log")"
	sleep 0.1
done
[ -n "$WIN" ] || fail "no xterm window on :$D after 20 s"

start_vnc --display ":$D" --listen "127.0.0.1:$PORT" --http-port 0 -v
NAME=$(sed -n 's/^mirage-vnc: serving \([^ ]*\) on .*/\1/p' "$TMP/vnc.log")
[ "$NAME" = "x11-$D" ] || fail "serves \"$NAME\", expected x11-$D"
CHECK="$VNC_CHECK --port $PORT --mirror $NAME --timeout 20"

$CHECK --expect-size 1024x768 > "$TMP/d1.out" || fail "initial picture"
pass "initial picture: $(cat "$TMP/d1.out")"

$CHECK --min-copyrects 5 -- sh -c "
	for i in \$(seq 30); do xdotool windowmove $WIN \$((40 + i * 8)) \$((40 + i * 5)); sleep 0.03; done" \
	> "$TMP/d2.out" || fail "window drag"
pass "window drag: $(cat "$TMP/d2.out")"

$CHECK --click 400,300 --type "seq 1 100; touch $TMP/typed
" -- sh -c "for i in \$(seq 100); do [ -e '$TMP/typed' ] && exit 0; sleep 0.1; done; exit 1" \
	> "$TMP/d3.out" || fail "typing"
pass "typed into the xterm: $(cat "$TMP/d3.out")"

stop_vnc
pgrep -f "mirage-x11 --display :$D " > /dev/null && fail "mirage-x11 still runs after mirage-vnc stopped"
pass "mirage-x11 stopped with mirage-vnc"

# The display's end is a failure: mirage-x11 loses it (status 1), and
# mirage-vnc says so in one line and ends with status 1.
start_vnc --display ":$D" --listen "127.0.0.1:$PORT" --http-port 0
kill "$XVFB"
for _ in $(seq 200); do kill -0 "$VNC_PID" 2> /dev/null || break; sleep 0.05; done
kill -0 "$VNC_PID" 2> /dev/null && fail "mirage-vnc still runs 10 s after its display ended"
wait "$VNC_PID" && rc=0 || rc=$?
[ "$rc" = 1 ] || { cat "$TMP/vnc.log" >&2; fail "mirage-vnc exited with $rc when its display ended, expected 1"; }
grep -q "^mirage-vnc: mirage-x11 has exited with status 1$" "$TMP/vnc.log" ||
	{ cat "$TMP/vnc.log" >&2; fail "no line saying mirage-x11 failed"; }
pass "the display's end: \"$(grep 'mirage-x11 has exited' "$TMP/vnc.log")\", status 1"
