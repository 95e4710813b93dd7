#!/bin/sh
# mirage-vnc --embedded: a private Xorg with the mirage module, served.
# Exact pictures, keys typed through RFB reach the xterm (which scrolls:
# CopyRect), a window drag arrives as CopyRect, the clipboard both ways,
# resize after xrandr, the server renders into the surface (mode 2), and
# everything stops with mirage-vnc or with the session.
. "$(dirname "$0")/lib.sh"

for p in xterm xdotool xclip xrandr; do
	command -v "$p" > /dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
if [ -z "${MIRAGE_XORG_MODULE_PATH:-}" ] && [ -n "${BUILD_ROOT:-}" ]; then
	export MIRAGE_XORG_MODULE_PATH="$BUILD_ROOT/src/drivers/xorg"
fi
if [ -n "${MIRAGE_XORG_MODULE_PATH:-}" ] && [ ! -f "$MIRAGE_XORG_MODULE_PATH/mirage.so" ]; then
	echo "SKIP: no Xorg module in $MIRAGE_XORG_MODULE_PATH"; exit 77
fi

# xorg_dir: the embedded Xorg's private directory, from mirage-vnc -v's log.
xorg_dir() { sed -n 's|.* -config \(.*\)/xorg.conf .*|\1|p' "$TMP/vnc.log" | head -n 1; }

PORT=$(free_port)
start_vnc --embedded --geometry 1024x768 --listen "127.0.0.1:$PORT" --http-port 0 -v
NAME=$(sed -n 's/^mirage-vnc: serving \([^ ]*\) on .*/\1/p' "$TMP/vnc.log")
export DISPLAY=$(sed -n 's/^mirage-vnc: input into \(.*\)/\1/p' "$TMP/vnc.log")
[ -n "$NAME" ] && [ -n "$DISPLAY" ] || fail "no mirror name or display in the log"
CHECK="$VNC_CHECK --port $PORT --mirror $NAME --timeout 20"

# The xterm must be mapped before we type into it.
for _ in $(seq 100); do
	xdotool search --class xterm > /dev/null 2>&1 && break
	sleep 0.1
done
WIN=$(xdotool search --class xterm | head -n 1)
[ -n "$WIN" ] || fail "no xterm on $DISPLAY"
xdotool windowmove --sync "$WIN" 40 40 2>/dev/null || true

$CHECK --expect-size 1024x768 > "$TMP/e1.out" || fail "initial picture"
pass "initial picture: $(cat "$TMP/e1.out")"

# The server renders straight into the surface (no software cursor drawn).
b=$("${MIRAGECTL:?}" status "$NAME" | sed -n 's/^ *backing=//p')
[ "$b" = alias ] || fail "the embedded mirror copies (backing=$b), expected alias"
pass "the embedded server renders into the surface (backing=alias)"

# Xorg's message bus is a dbus-daemon of mirage-vnc's: Xorg connects once
# and, with no system bus here, does not log a failure and try again every
# 10 s.
if command -v dbus-daemon > /dev/null; then
	xorg=$(pgrep -P "$VNC_PID" -x Xorg || true)
	BUS=$(pgrep -P "$VNC_PID" -x dbus-daemon || true)
	[ -n "$xorg" ] && [ -n "$BUS" ] || fail "no Xorg ($xorg) or dbus-daemon ($BUS) under mirage-vnc"
	addr=$(tr '\0' '\n' < "/proc/$xorg/environ" | sed -n 's/^DBUS_SYSTEM_BUS_ADDRESS=//p')
	case $addr in
	unix:path=/tmp/mirage-vnc-*/bus,*) ;;
	*) fail "Xorg's DBUS_SYSTEM_BUS_ADDRESS is \"$addr\"" ;;
	esac
	dir=$(xorg_dir)
	grep "dbus-core" "$dir/Xorg.log" && fail "Xorg failed to reach its message bus"
	pass "Xorg's message bus is its own ($addr)"
fi

# Keys through RFB: a command that scrolls the xterm and creates a file.
# A click focuses the xterm (twm: focus follows the pointer).
$CHECK --click 120,150 --type "seq 1 300; touch $TMP/typed
" -- sh -c "for i in \$(seq 200); do [ -e '$TMP/typed' ] && exit 0; sleep 0.1; done; exit 1" \
	> "$TMP/e2.out" || fail "typing / xterm scroll"
pass "typed into the xterm, it scrolled: $(cat "$TMP/e2.out")"

# A keysym the keymap lacks (eacute on the server's "us" map) is bound to a
# spare keycode on demand: the file name gets a fourth character.
txt=$(printf 'touch %s/caf\303\251; touch %s/typed2' "$TMP" "$TMP")
$CHECK --type "$txt
" -- sh -c "for i in \$(seq 200); do [ -e '$TMP/typed2' ] && exit 0; sleep 0.1; done; exit 1" \
	> "$TMP/e2b.out" || fail "typing a keysym missing from the keymap"
n=$(ls "$TMP" | grep -c '^caf.')
[ "$n" -ge 1 ] || fail "eacute typed through RFB did not reach the xterm: $(ls "$TMP" | grep '^caf')"
pass "a keysym missing from the keymap (eacute) was typed"

# An xterm scroll as CopyRect: one line at a time (xterm's jump scroll
# redraws the text instead of copying when many lines arrive at once).
$CHECK --min-copyrects 5 --type "clear; for i in \$(seq 40); do echo line \$i; sleep 0.05; done; touch $TMP/scrolled
" -- sh -c "for i in \$(seq 200); do [ -e '$TMP/scrolled' ] && exit 0; sleep 0.1; done; exit 1" \
	> "$TMP/e2b.out" || fail "xterm scroll as CopyRect"
pass "xterm scroll: $(cat "$TMP/e2b.out")"

# A window drag in 30 steps.
$CHECK --min-copyrects 5 -- sh -c "
	for i in \$(seq 30); do xdotool windowmove $WIN \$((40 + i * 8)) \$((40 + i * 5)); sleep 0.03; done" \
	> "$TMP/e3.out" || fail "window drag"
pass "window drag: $(cat "$TMP/e3.out")"

# Clipboard, RFB -> X.
$CHECK --clip-send "from-rfb-$$" > /dev/null || fail "clip send"
got=""
for _ in $(seq 50); do
	got=$(xclip -o -selection clipboard 2>/dev/null || true)
	[ "$got" = "from-rfb-$$" ] && break
	sleep 0.1
done
[ "$got" = "from-rfb-$$" ] || fail "CLIPBOARD is \"$got\", expected from-rfb-$$"
pass "clipboard RFB -> X"

# Clipboard, X -> RFB (xclip serves one request, ours, then exits).
$CHECK --clip-expect "from-x-$$" -- sh -c "printf 'from-x-$$' | xclip -l 1 -selection clipboard" \
	> /dev/null || fail "clip from X"
pass "clipboard X -> RFB"

# --monitor N on the embedded Xorg: two CRTCs (the dummy driver's DUMMY0
# and DUMMY1) split the screen; the module publishes them as the monitor
# layout.  A second mirage-vnc (the first keeps the manager role) serves
# monitor 1 only; the viewer's picture equals the surface's right half
# while the xterm is dragged across the boundary.
xrandr --newmode mirage-half 31.50 512 544 600 688 768 771 781 798 -hsync +vsync
xrandr --addmode DUMMY0 mirage-half
xrandr --addmode DUMMY1 mirage-half
xrandr --fb 1024x768 --output DUMMY0 --mode mirage-half --pos 0x0 \
	--output DUMMY1 --mode mirage-half --pos 512x0 || fail "xrandr: two monitors"
MPORT=$(free_port)
[ "$MPORT" != "$PORT" ] || fail "no second port"
MAIN_PID=$VNC_PID
MAIN_LOG=$TMP/vnc-main.log
mv "$TMP/vnc.log" "$MAIN_LOG"
# The layout reaches the surface header on the module's next flush: until
# then --monitor 1 exits ("the mirror has 1 monitor"), so try again.
ok=""
for _ in $(seq 20); do
	if "$MIRAGE_VNC" --mirror "$NAME" --monitor 1 --input-display "$DISPLAY" --http-port 0 \
		--listen "127.0.0.1:$MPORT" --ready-file "$TMP/mon.ready" > "$TMP/mon.log" 2>&1 &
	then
		MON_PID=$!
		PIDS="$PIDS $MON_PID"
		for _ in $(seq 100); do
			[ -s "$TMP/mon.ready" ] && break
			kill -0 "$MON_PID" 2>/dev/null || break
			sleep 0.05
		done
		[ -s "$TMP/mon.ready" ] && { ok=1; break; }
	fi
	sleep 0.2
done
[ -n "$ok" ] || { cat "$TMP/mon.log" >&2; fail "mirage-vnc --monitor 1 did not start"; }
"$VNC_CHECK" --port "$MPORT" --mirror "$NAME" --monitor 1 --expect-size 512x768 --timeout 20 \
	--min-copyrects 3 -- sh -c "
	for i in \$(seq 20); do xdotool windowmove $WIN \$((300 + i * 10)) \$((100 + i * 4)); sleep 0.03; done" \
	> "$TMP/e5.out" || fail "--monitor 1"
pass "monitor 1 of two CRTCs: $(cat "$TMP/e5.out")"
kill "$MON_PID"
wait "$MON_PID" 2>/dev/null || true
VNC_PID=$MAIN_PID
mv "$MAIN_LOG" "$TMP/vnc.log"
xrandr --output DUMMY1 --off --output DUMMY0 --mode 1024x768 --pos 0x0 || fail "xrandr: back to one monitor"
xdotool windowmove --sync "$WIN" 40 40 2>/dev/null || true

# Resize with xrandr: the viewer gets the new size and exact content.
$CHECK --expect-size 800x600 -- xrandr -s 800x600 > "$TMP/e4.out" || fail "resize"
pass "resize: $(cat "$TMP/e4.out")"

# Resize asked for by the viewer (SetDesktopSize): sizes the display has
# no mode for get one (CVT timings, XRRCreateMode + XRRAddOutputMode),
# one that is no multiple of 8 too; a known mode is reused.
for size in 900x700 1001x703 1024x768; do
	$CHECK --request-size "$size" --expect-size "$size" > "$TMP/e6.out" \
		|| fail "SetDesktopSize $size"
	got=$(xrandr | sed -n 's/^Screen 0:.* current \([0-9]*\) x \([0-9]*\),.*/\1x\2/p')
	[ "$got" = "$size" ] || fail "SetDesktopSize $size: the X screen is $got"
	pass "SetDesktopSize $size: $(cat "$TMP/e6.out")"
done

# Everything stops with mirage-vnc.
stop_vnc
for _ in $(seq 200); do xdpyinfo > /dev/null 2>&1 || break; sleep 0.1; done
if xdpyinfo > /dev/null 2>&1; then fail "Xorg on $DISPLAY still runs 20 s after mirage-vnc stopped"; fi
if [ -n "${BUS:-}" ] && kill -0 "$BUS" 2> /dev/null; then
	fail "dbus-daemon $BUS still runs after mirage-vnc stopped"
fi
pass "Xorg, its message bus and the session stopped with mirage-vnc"

# The session command's end ends mirage-vnc (status 0), and Xorg with it.
start_vnc --embedded --geometry 640x480 --listen "127.0.0.1:$PORT" --http-port 0 -- sleep 2
for _ in $(seq 200); do kill -0 "$VNC_PID" 2> /dev/null || break; sleep 0.05; done
kill -0 "$VNC_PID" 2> /dev/null && fail "mirage-vnc still runs 10 s after its session ended"
wait "$VNC_PID" && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "mirage-vnc exited with $rc when its session ended"
pass "the session's end stops mirage-vnc (status 0)"

# A Ctrl-C in a terminal signals the whole foreground process group:
# mirage-vnc alone has to act on it (Xorg and the session are in groups of
# their own) and stop them in order, leaving no process and no directory.
rm -f "$TMP/vnc.ready"
setsid "$MIRAGE_VNC" --ready-file "$TMP/vnc.ready" --embedded --geometry 640x480 \
	--listen "127.0.0.1:$PORT" --http-port 0 -v > "$TMP/vnc.log" 2>&1 &
VNC_PID=$!
PIDS="$PIDS $VNC_PID"
for _ in $(seq 300); do [ -s "$TMP/vnc.ready" ] && break; sleep 0.05; done
[ -s "$TMP/vnc.ready" ] || { cat "$TMP/vnc.log" >&2; fail "mirage-vnc (own group) did not start"; }
dir=$(xorg_dir)
[ -d "$dir" ] || fail "no Xorg directory in the log"
kill -INT -"$VNC_PID"
for _ in $(seq 200); do kill -0 "$VNC_PID" 2> /dev/null || break; sleep 0.05; done
kill -0 "$VNC_PID" 2> /dev/null && fail "mirage-vnc still runs 10 s after a Ctrl-C"
wait "$VNC_PID" && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "mirage-vnc exited with $rc after a Ctrl-C"
[ -e "$dir" ] && fail "a Ctrl-C left $dir behind"
pass "a Ctrl-C to the process group stops everything and removes $dir"

# Xorg's death is a failure: one line, status 1, the directory removed
# (not Xlib's exit from whichever thread noticed first, which printed its
# own lines and left the directory; the session's X clients still print
# theirs to the same log).
start_vnc --embedded --geometry 640x480 --listen "127.0.0.1:$PORT" --http-port 0 -v
dir=$(xorg_dir)
xorg=$(pgrep -P "$VNC_PID" -x Xorg || true)
[ -n "$xorg" ] || fail "no Xorg under mirage-vnc"
kill -KILL "$xorg"
for _ in $(seq 200); do kill -0 "$VNC_PID" 2> /dev/null || break; sleep 0.05; done
kill -0 "$VNC_PID" 2> /dev/null && fail "mirage-vnc still runs 10 s after Xorg died"
wait "$VNC_PID" && rc=0 || rc=$?
[ "$rc" = 1 ] || fail "mirage-vnc exited with $rc when Xorg died, expected 1"
grep -q "^mirage-vnc: Xorg on :[0-9]* has exited$" "$TMP/vnc.log" ||
	{ cat "$TMP/vnc.log" >&2; fail "no line saying Xorg exited"; }
[ -e "$dir" ] && fail "Xorg's death left $dir behind"
pass "Xorg's death: \"$(grep 'has exited' "$TMP/vnc.log")\", status 1, $dir removed"
