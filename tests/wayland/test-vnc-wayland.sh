#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-vnc --wayland against a real headless sway (run as a throwaway
# user, lib.sh), seen through a libvncclient viewer (vnc-check): its
# framebuffer equals the mirror wl-HEADLESS-1; a click moves the focus
# between two foot windows; keys typed through RFB reach foot's `cat`
# exactly; the clipboard goes both ways (wl-copy, wl-paste); an output
# resize on the compositor reaches the viewer.
WL_NEEDS="wl-copy wl-paste ss"
. "$(dirname "$0")/lib.sh"
: "${MIRAGE_VNC:?set MIRAGE_VNC to the mirage-vnc executable}"
: "${VNC_CHECK:?set VNC_CHECK to the vnc-check executable}"

# Where the user can run them (lib.sh's tree layout when it cannot reach them).
VNC_BIN=$MIRAGE_VNC
CHECK_BIN=$VNC_CHECK
if ! runuser -u "$U" -- sh -c "test -x '$MIRAGE_VNC' && test -x '$VNC_CHECK'"; then
	mkdir -p "$T/tree/src/tools/vnc" "$T/tree/tests/vnc"
	cp "$MIRAGE_VNC" "$T/tree/src/tools/vnc/"
	cp "$VNC_CHECK" "$T/tree/tests/vnc/"
	VNC_BIN="$T/tree/src/tools/vnc/mirage-vnc"
	CHECK_BIN="$T/tree/tests/vnc/vnc-check"
fi

PORT=$(free_port 5970 5999) || fail "no free port in 5970-5999"

# Two foot windows side by side: "left" first, then "typed" (right,
# focused), whose cat writes what it is typed into a file.
as_user foot --app-id mwl-left sh -c 'exec sleep 600' > "$T/foot-left.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
as_user foot --app-id mwl-typed sh -c "exec cat > '$T/home/typed.txt'" > "$T/foot-typed.log" 2>&1 &
PIDS="$PIDS $!"
focused() {
	as_user swaymsg -s "$T/xdg/$SOCK" -t get_tree | python3 -c '
import json, sys
def walk(n):
    if n.get("focused"): print(n.get("app_id") or n.get("name")); return True
    return any(walk(c) for c in n.get("nodes", []) + n.get("floating_nodes", []))
walk(json.load(sys.stdin))'
}
for _ in $(seq 100); do [ "$(focused)" = mwl-typed ] && break; sleep 0.1; done
[ "$(focused)" = mwl-typed ] || fail "the second foot window is not focused ($(focused))"

as_user "$VNC_BIN" --wayland wayland-mt --listen "127.0.0.1:$PORT" --http-port 0 \
	--ready-file "$T/home/ready" > "$T/vnc.log" 2>&1 &
VNC_PID=$!
PIDS="$PIDS $VNC_PID"
wait_ready "$T/home/ready" "$VNC_PID" "mirage-vnc --wayland"
grep -q 'serving wl-HEADLESS-1' "$T/vnc.log" || fail "mirage-vnc does not serve wl-HEADLESS-1"
pass "mirage-vnc --wayland serves wl-HEADLESS-1 on port $PORT"

check() { as_user "$CHECK_BIN" --port "$PORT" --mirror wl-HEADLESS-1 "$@"; }

check > "$T/c1.out" || fail "the viewer's framebuffer never equalled the mirror"
pass "framebuffer equals the mirror: $(cat "$T/c1.out")"

# A click on the left half moves the focus there, one on the right back.
check --click 300,400 > "$T/c2.out" || fail "click on the left window"
for _ in $(seq 50); do [ "$(focused)" = mwl-left ] && break; sleep 0.1; done
[ "$(focused)" = mwl-left ] || fail "a click at 300,400 did not focus the left window ($(focused))"
check --click 980,400 > "$T/c3.out" || fail "click on the right window"
for _ in $(seq 50); do [ "$(focused)" = mwl-typed ] && break; sleep 0.1; done
[ "$(focused)" = mwl-typed ] || fail "a click at 980,400 did not focus the right window ($(focused))"
pass "clicks move the focus between the two foot windows"

# vnc-check types a newline as Return: cat gets each line.  The second
# line: symbols on other levels of a usual layout, Latin-1 and Unicode
# keysyms (keysyms that no default keymap has).
check --type 'Hello, World! 123
' > "$T/c4.out" || fail "typing"
check --type 'Grüße {[|]}~ 5€
' > "$T/c4b.out" || fail "typing symbols"
printf 'Hello, World! 123\nGrüße {[|]}~ 5€\n' > "$T/want.txt"
for _ in $(seq 50); do cmp -s "$T/want.txt" "$T/home/typed.txt" && break; sleep 0.1; done
cmp -s "$T/want.txt" "$T/home/typed.txt" ||
	fail "foot got \"$(cat "$T/home/typed.txt")\", not \"$(cat "$T/want.txt")\""
pass "typed \"Hello, World! 123\" and \"Grüße {[|]}~ 5€\" reached foot exactly"

# Viewer -> compositor.
check --clip-send 'from the viewer' > "$T/c5.out" || fail "sending cut text"
got=""
for _ in $(seq 50); do
	got=$(as_user timeout 5 wl-paste --no-newline 2>/dev/null)
	[ "$got" = 'from the viewer' ] && break
	sleep 0.1
done
[ "$got" = 'from the viewer' ] || fail "wl-paste gave \"$got\", not the viewer's text"
got=$(as_user timeout 5 wl-paste --primary --no-newline 2>/dev/null)
[ "$got" = 'from the viewer' ] || fail "the primary selection is \"$got\", not the viewer's text"
pass "viewer's cut text is the clipboard and primary selection"

# Compositor -> viewer.
check --clip-expect 'from the desktop' -- sh -c \
	"wl-copy --foreground 'from the desktop' & echo \$! > '$T/home/wl-copy.pid'" > "$T/c6.out" ||
	fail "the viewer never got the desktop's clipboard"
PIDS="$PIDS $(cat "$T/home/wl-copy.pid")"
pass "wl-copy's text reached the viewer"

check --expect-size 1024x768 -- sh -c \
	"swaymsg -s '$T/xdg/$SOCK' output HEADLESS-1 resolution 1024x768 > /dev/null" > "$T/c7.out" || fail "the output resize did not reach the viewer"
pass "output resized to 1024x768: the viewer followed ($(cat "$T/c7.out"))"

# The process itself, not runuser (which does not pass SIGTERM on): the
# only mirage-vnc of the test's user.
VNC_REAL=$(pgrep -u "$U" -x mirage-vnc | head -1)
[ -n "$VNC_REAL" ] || fail "cannot find mirage-vnc's process"
kill "$VNC_REAL"
for _ in $(seq 50); do kill -0 "$VNC_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$VNC_PID" 2>/dev/null && fail "mirage-vnc still runs after SIGTERM"
wait "$VNC_PID"; rc=$?
[ "$rc" = 0 ] || fail "mirage-vnc exited $rc after SIGTERM, not 0"
for _ in $(seq 50); do
	as_user "$CTL_BIN" list --no-header 2>/dev/null | grep -q '^wl-HEADLESS-1' || break
	sleep 0.1
done
as_user "$CTL_BIN" list --no-header 2>/dev/null | grep -q '^wl-HEADLESS-1' &&
	fail "mirage-wayland still publishes after mirage-vnc stopped"
pass "mirage-vnc stopped with its mirage-wayland"
echo "PASS"
