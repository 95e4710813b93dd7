#!/bin/bash
# The mirror follows real X clients: exact surface, complete and correctly
# typed records, resizes.  Pointer.Enabled=0 (the default).
. "$(dirname "$0")/common.sh"
xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=2 || exit 1
N="xorg-$XENV_DISPLAY"

check "attached at boot, first full refresh" "$XCHECK" compare "$N"
check "record types (CopyArea, window move, text, pointer)" "$XCHECK" types "$N" --cursor

# xterm printing and scrolling
check "xterm printing and scrolling: completeness" "$XCHECK" complete "$N" -- \
	sh -c 'xterm -geometry 80x24+20+20 -name mtest1 -hold -e sh -c "seq 1 400; echo done" >/dev/null 2>&1 & sleep 3'
XT1=$(xdotool search --sync --classname mtest1 | head -n 1)
check "xterm: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "xterm"

# windows mapped, moved, raised
check "second window mapped: completeness" "$XCHECK" complete "$N" -- \
	sh -c 'xterm -geometry 60x20+200+150 -name mtest2 -hold -e sh -c "ls -la /usr/bin | head -n 100" >/dev/null 2>&1 & sleep 3'
XT2=$(xdotool search --sync --classname mtest2 | head -n 1)
check "window moved: completeness" "$XCHECK" complete "$N" -- xdotool windowmove "$XT1" 300 260
check "window raised: completeness" "$XCHECK" complete "$N" -- xdotool windowraise "$XT1"
check "moved and raised again: completeness" "$XCHECK" complete "$N" -- \
	sh -c "xdotool windowmove $XT2 10 10; xdotool windowraise $XT2; xdotool windowmove $XT1 500 400"
check "windows: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "windows"

# x11perf subset
for t in -rect10 -rect100 -copywinwin100 -scroll100 -ftext -f8text -tr10text -putimage100 -shmput100 -aa10text; do
	check "x11perf $t: completeness while it runs" "$XCHECK" complete "$N" --live -- \
		x11perf -repeat 1 -time 1 $t
done
check "x11perf: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "x11perf"

# resize: xrandr -s and --fb
check "xrandr -s 800x600: completeness" "$XCHECK" complete "$N" -- true
xrandr -s 800x600 >/dev/null 2>&1
check "after xrandr -s 800x600: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "800x600"
xrandr -s 1024x768 >/dev/null 2>&1
xrandr --fb 1280x1024 >/dev/null 2>&1
check "after xrandr --fb 1280x1024: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "fb 1280x1024"
if [ -x "$CTL" ]; then
	g=$("$CTL" status "$N" | awk '/^geometry:/ {print $2}')
	[ "$g" = "1280x1024" ] && ok "status shows the new geometry" || bad "status geometry $g"
fi

server_alive "end"
no_errors
finish
