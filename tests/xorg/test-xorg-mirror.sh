#!/bin/bash
# The mirror follows real X clients: exact surface, complete and correctly
# typed records, resizes.  Pointer.Enabled=0 (the default).  Also run with
# XENV_SCREEN_READ=getimage (xorg-mirror-getimage): the module then reads
# the screen as on a GPU, through GetImage only, and refuses mode 2.
. "$(dirname "$0")/common.sh"
xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=2 || exit 1
N="xorg-$XENV_DISPLAY"

check "attached at boot, first full refresh" "$XCHECK" compare "$N"
screen_read_check "$N" "at boot"
check "record types (CopyArea, window move, text, pointer)" "$XCHECK" types "$N" --cursor

# xterm printing and scrolling
check "xterm printing and scrolling: completeness" "$XCHECK" complete "$N" -- \
	sh -c 'xterm -geometry 80x24+20+20 -name mtest1 -hold -e sh -c "seq 1 400; echo done" >/dev/null 2>&1 & sleep 3'
XT1=$(xdotool search --sync --classname mtest1 | head -n 1)
check "xterm: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "xterm"
# its lines stack up: consecutive TEXTOUT rectangles fold into one record
# (the completeness above holds with them folded)
fo=$(status_value "$N" records_folded)
[ "${fo:-0}" -gt 100 ] && ok "xterm: $fo rectangles folded into the records before them" ||
	bad "xterm: only ${fo:-no} rectangles folded"

# anti-aliased text (Xft: Render glyphs) and xterm scrolling line by line:
# the glyphs are TEXTOUT, each scroll a SCREEN_SCREEN from one line lower.
# (Output in bursts makes xterm jump-scroll: it redraws instead of copying.)
if fc-match Monospace >/dev/null 2>&1; then
	timeout 7 "$CTL" watch "$N" > "$XENV_DIR/watch.txt" 2>&1 &
	W=$!
	sleep 0.3
	xterm -fa Monospace -fs 10 -geometry 80x24+40+40 -name mxft -hold -e sh -c \
		'for i in $(seq 1 50); do echo "anti-aliased line $i"; sleep 0.03; done' >/dev/null 2>&1 &
	XENV_PIDS="$XENV_PIDS $!"
	wait $W
	t=$(grep -c ' TEXTOUT ' "$XENV_DIR/watch.txt")
	[ "$t" -gt 0 ] && ok "Xft/Render glyphs: $t TEXTOUT records" || bad "Xft/Render glyphs: no TEXTOUT"
	# rect=L,T,R,B src=X,Y: a scroll up copies from the same x, a lower y
	sc=$(awk '$2 == "SCREEN_SCREEN" { split($3, r, /[=,]/); split($4, p, /[=,]/);
		if (p[2] == r[2] && p[3] > r[3]) n++ } END { print n + 0 }' "$XENV_DIR/watch.txt")
	[ "$sc" -gt 5 ] && ok "xterm scrolling: $sc SCREEN_SCREEN records (source one line lower)" ||
		bad "xterm scrolling: only $sc SCREEN_SCREEN scroll records"
	check "Xft xterm: surface == screen" "$XCHECK" compare "$N"
fi

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

# Mode 2, before a software cursor rules it out: aliased on the dummy
# driver; through GetImage refused as on a GPU, and exact by copying.
if [ -x "$CTL" ]; then
	"$CTL" settings "$N" Cap.DfbBackingMode=2 >/dev/null 2>&1 || bad "DfbBackingMode=2 refused"
	check "mode 2: window moves, completeness" "$XCHECK" complete "$N" -- \
		sh -c "xdotool windowmove $XT2 40 30; xdotool windowraise $XT1; xdotool windowmove $XT1 280 240"
	x11perf -repeat 1 -reps 100 -rect100 -copywinwin100 -ftext >/dev/null 2>&1
	alias_check "$N" "mode 2"
	check "mode 2: surface == screen" "$XCHECK" compare "$N"
	snapcheck "$N" "mode 2"
	"$CTL" settings "$N" Cap.DfbBackingMode=3 >/dev/null 2>&1 || bad "DfbBackingMode=3 refused"
	check "back to mode 3: surface == screen" "$XCHECK" compare "$N"
fi

# A software cursor: the dummy driver has no hardware cursor for ARGB
# shapes, so the server draws this one into the framebuffer.  It must never
# reach the surface (GetImage never shows it).
check "ARGB cursor defined on the root window" "$XCHECK" argb-cursor "$N"
xdotool mousemove 60 700
sleep 0.3
check "software cursor over the root: surface == screen" "$XCHECK" compare "$N"
if [ -x "$CTL" ]; then
	sw=$("$CTL" status "$N" | awk -F= '/software_cursor=/ {print $2}')
	[ "$sw" = 1 ] && ok "status shows software_cursor=1" ||
		bad "software_cursor=$sw: the ARGB cursor was not drawn in software"
fi
command -v xsetroot >/dev/null && xsetroot -solid '#336699'
check "root repainted under it: surface == screen" "$XCHECK" compare "$N"
xdotool mousemove 320 280
check "window moved under it: completeness" "$XCHECK" complete "$N" -- \
	sh -c "for i in 1 2 3 4 5 6; do xdotool windowmove $XT1 \$((300 + i * 20)) \$((260 + i * 7)); done"
check "window moved under it: surface == screen" "$XCHECK" compare "$N"
xdotool mousemove 10 10
check "pointer moved away: surface == screen" "$XCHECK" compare "$N"

# x11perf subset
for t in -rect100 -copywinwin100 -scroll100 -ftext -tr10text -putimage100 -shmput100 -aa10text; do
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

screen_read_check "$N" "end"
c=$(status_value "$N" bytes_copied)
[ "${c:-0}" -gt 0 ] && ok "end: bytes_copied=$c read from the screen" || bad "end: bytes_copied=$c"
server_alive "end"
no_errors
finish
