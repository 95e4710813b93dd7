#!/bin/sh
# mirage-vnc --embedded: a private Xorg with the mirage module, served.
# Exact pictures, keys typed through RFB reach the xterm (which scrolls:
# CopyRect), a window drag arrives as CopyRect, the clipboard both ways,
# resize after xrandr, and everything stops with mirage-vnc.
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

# Keys through RFB: a command that scrolls the xterm and creates a file.
# A click focuses the xterm (twm: focus follows the pointer).
$CHECK --click 120,150 --type "seq 1 300; touch $TMP/typed
" -- sh -c "for i in \$(seq 200); do [ -e '$TMP/typed' ] && exit 0; sleep 0.1; done; exit 1" \
	> "$TMP/e2.out" || fail "typing / xterm scroll"
pass "typed into the xterm, it scrolled: $(cat "$TMP/e2.out")"

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

# Resize with xrandr: the viewer gets the new size and exact content.
$CHECK --expect-size 800x600 -- xrandr -s 800x600 > "$TMP/e4.out" || fail "resize"
pass "resize: $(cat "$TMP/e4.out")"

# Everything stops with mirage-vnc.
stop_vnc
for _ in $(seq 200); do xdpyinfo > /dev/null 2>&1 || break; sleep 0.1; done
if xdpyinfo > /dev/null 2>&1; then fail "Xorg on $DISPLAY still runs 20 s after mirage-vnc stopped"; fi
pass "Xorg and the session stopped with mirage-vnc"
