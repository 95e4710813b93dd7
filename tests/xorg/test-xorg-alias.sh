#!/bin/bash
# Cap.DfbBackingMode 2: the X server renders straight into the surface.
# Exact after workloads, records complete, no pixel copied; run-time switch
# 3 -> 2 -> 3; resizes; detach and a dying manager; logged fallbacks to 3
# (ForcedBpp, Pointer.Enabled=1, a software cursor); the server survives
# all of it and exits cleanly with the surface still aliased.  ScreenCursor
# off keeps a software cursor out of the framebuffer, and mode 2 with it.
. "$(dirname "$0")/common.sh"
[ -x "$CTL" ] || skip "needs miragectl"

backing_is() {
	b=$(status_value "$N" backing)
	if [ "$b" = "$1" ]; then ok "$2: backing=$b"; else bad "$2: backing=$b, expected $1"; fi
}

xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=2 Cap.DfbBackingMode=2 || exit 1
N="xorg-$XENV_DISPLAY"

backing_is alias "xorg.conf mode 2"
check "mode 2 at boot: surface == screen" "$XCHECK" compare "$N"
check "mode 2: xterm printing and scrolling, completeness" "$XCHECK" complete "$N" -- \
	sh -c 'xterm -geometry 80x24+20+20 -name atest -hold -e sh -c "seq 1 300" >/dev/null 2>&1 & sleep 2'
XENV_PIDS="$XENV_PIDS $(pgrep -n -f 'name atest' 2>/dev/null)"
check "mode 2: record types" "$XCHECK" types "$N"
for t in -rect100 -copywinwin100 -ftext -fitext -putimage100; do
	check "mode 2: x11perf $t, completeness while it runs" "$XCHECK" complete "$N" --live -- \
		x11perf -repeat 1 -time 1 $t
done
# ImageText: the module's own region for "fixed", ImageGlyphBlt in mode 2
# for "cursor", whose characters differ in size (hooks.c).  The checked
# run draws over text already there, so that only the text's records can
# cover what changes.
"$XCHECK" text "$N" >/dev/null
check "mode 2: ImageText8/16, completeness" "$XCHECK" complete "$N" -- "$XCHECK" text "$N" 1
"$XCHECK" lines "$N" >/dev/null
f0=$(status_value "$N" records_folded)
check "mode 2: stacked lines (folded records), completeness" "$XCHECK" complete "$N" -- \
	"$XCHECK" lines "$N" 1
f1=$(status_value "$N" records_folded)
[ "$((f1 - f0))" -ge 7 ] && ok "mode 2: stacked lines: $((f1 - f0)) rectangles folded" ||
	bad "mode 2: stacked lines: $((f1 - f0)) rectangles folded (expected at least 7)"
check "mode 2: ImageText8/16: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "mode 2 after workloads"
c=$(status_value "$N" bytes_copied)
[ "$c" = 0 ] && ok "mode 2: no pixel copied (bytes_copied=0)" || bad "mode 2: bytes_copied=$c"
# The text of mode 2 has the pixels of the server's own ImageText: the
# same text again in mode 3, in the same window
root_ppm "$XENV_DIR/text2.ppm"
"$CTL" settings "$N" Cap.DfbBackingMode=3 >/dev/null 2>&1
"$XCHECK" text "$N" >/dev/null
check "mode 3: ImageText8/16, completeness" "$XCHECK" complete "$N" -- "$XCHECK" text "$N" 1
"$XCHECK" lines "$N" >/dev/null
check "mode 3: stacked lines (folded records), completeness" "$XCHECK" complete "$N" -- \
	"$XCHECK" lines "$N" 1
root_ppm "$XENV_DIR/text3.ppm"
check "mode 3: ImageText8/16: surface == screen" "$XCHECK" compare "$N"
"$CTL" settings "$N" Cap.DfbBackingMode=2 >/dev/null 2>&1
if [ ! -x "${X11_CHECK:-}" ]; then
	echo "     (no x11-check: the ImageText pixels of modes 2 and 3 are not compared)"
elif cmp -s "$XENV_DIR/text2.ppm" "$XENV_DIR/text3.ppm"; then
	ok "mode 2: ImageText pixels equal the server's own (mode 3)"
else
	bad "mode 2: ImageText pixels differ from the server's own (mode 3)"
fi

# Another listener on the screen's damage (mirage-x11: DAMAGE on the root
# window) still gets the text the module logs without its own (hooks.c).
if [ -x "${MIRAGE_X11:-}" ]; then
	X="x11-$XENV_DISPLAY"
	"$MIRAGE_X11" --display "$DISPLAY" > "$XENV_DIR/mirage-x11.log" 2>&1 &
	X11_PID=$!
	XENV_PIDS="$XENV_PIDS $X11_PID"
	for _ in $(seq 50); do [ -S "$MIRAGE_DIR/$X.sock" ] && break; sleep 0.1; done
	"$CTL" attach --persist "$X" > /dev/null 2>&1 || bad "miragectl attach $X failed"
	"$XCHECK" text "$N" > /dev/null
	check "mode 2: text, mirage-x11's surface beside the module == screen" "$XCHECK" compare "$X"
	kill "$X11_PID" 2> /dev/null
	wait "$X11_PID" 2> /dev/null
fi

# run-time switch 2 -> 3 -> 2 -> 3
for m in 3 2 3 2; do
	"$CTL" settings "$N" Cap.DfbBackingMode=$m >/dev/null 2>&1 || bad "settings DfbBackingMode=$m refused"
	x11perf -repeat 1 -reps 200 -rect100 -scroll100 >/dev/null 2>&1
	[ $m = 2 ] && backing_is alias "switched to 2" || backing_is copy "switched to 3"
	check "after DfbBackingMode=$m: surface == screen" "$XCHECK" compare "$N"
done

# resizes while aliased, with a consumer following
xorg_env_spawn "$XCHECK" spin "$N" >/dev/null 2>&1
SPIN=$XENV_LAST_PID
xrandr -s 800x600 >/dev/null 2>&1
backing_is alias "after xrandr -s 800x600"
check "mode 2, xrandr -s 800x600: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "mode 2, 800x600"
xrandr -s 1024x768 >/dev/null 2>&1
xrandr --fb 1280x1024 >/dev/null 2>&1
check "mode 2, xrandr --fb 1280x1024: surface == screen" "$XCHECK" compare "$N"
snapcheck "$N" "mode 2, fb 1280x1024"
for _ in $(seq 1 10); do
	xrandr --fb 1024x768 >/dev/null 2>&1
	x11perf -repeat 1 -reps 50 -rect100 >/dev/null 2>&1 &
	xrandr --fb 1280x1024 >/dev/null 2>&1
	wait $!
done
server_alive "mode 2: 20 resizes under drawing"
check "mode 2, after 20 resizes: surface == screen" "$XCHECK" compare "$N"
backing_is alias "after 20 resizes"
xorg_env_kill "$SPIN"

# fallbacks to 3, logged
"$CTL" settings "$N" Screen.ForcedBpp=16 >/dev/null 2>&1 || bad "ForcedBpp=16 refused"
backing_is copy "ForcedBpp 16 in mode 2 (fallback)"
check "mode 2 + ForcedBpp 16 (copying): surface == screen" "$XCHECK" compare "$N"
grep -q "Cap.DfbBackingMode 2: the surface format differs.*copying instead" "$XORG_LOG" &&
	ok "the fallback is logged" || bad "no fallback message in the log"
"$CTL" settings "$N" Screen.ForcedBpp=0 >/dev/null 2>&1
backing_is alias "ForcedBpp 0 again"
"$CTL" settings "$N" Pointer.Enabled=1 >/dev/null 2>&1
backing_is copy "Pointer.Enabled=1 in mode 2 (fallback)"
"$CTL" settings "$N" Pointer.Enabled=0 >/dev/null 2>&1
backing_is alias "Pointer.Enabled=0 again"
check "back to aliasing: surface == screen" "$XCHECK" compare "$N"

# detach while aliased, then a manager that dies
"$CTL" settings "$N" Cap.Bootup=0 >/dev/null 2>&1 || bad "Cap.Bootup=0 refused"
"$CTL" detach "$N" >/dev/null 2>&1 || bad "detach refused"
backing_is copy "detached"
x11perf -repeat 1 -reps 200 -rect100 -ftext >/dev/null 2>&1
server_alive "mode 2: drawing while detached"
"$CTL" attach "$N" >/dev/null 2>&1 &
MGR=$!
XENV_PIDS="$XENV_PIDS $MGR"
sleep 0.5
backing_is alias "attached by a manager"
check "re-attached: surface == screen" "$XCHECK" compare "$N"
kill -9 $MGR 2>/dev/null; wait $MGR 2>/dev/null
sleep 0.3
a=$("$CTL" status "$N" | awk '/^attached:/ {print $2}')
[ "$a" = no ] && ok "manager killed: detached" || bad "manager killed: attached=$a"
x11perf -repeat 1 -reps 200 -rect100 >/dev/null 2>&1
server_alive "mode 2: manager died"
"$CTL" attach --persist "$N" >/dev/null 2>&1 || bad "attach --persist"
check "attached again: surface == screen" "$XCHECK" compare "$N"
no_errors

# the server exits cleanly while aliased (CloseScreen gives the storage back)
kill "$XORG_PID"
wait "$XORG_PID"
rc=$?
XORG_PID=""
if [ $rc = 0 ] && ! grep -qE "Segmentation|Fatal server error|Backtrace" "$XORG_LOG"; then
	ok "server exit while aliased: clean (status 0)"
else
	bad "server exit while aliased: status $rc"
	grep -E "Segmentation|Fatal|Backtrace" -A5 "$XORG_LOG" | head -n 10 | sed 's/^/     /'
fi

# A theme's ARGB cursor, which the dummy driver leaves to the software
# cursor: drawn into the framebuffer, so mode 2 falls back to copying;
# with ScreenCursor off the server draws no cursor there and mode 2 holds,
# while the shape still reaches the mirror.
argb_cursor() {
	XCURSOR_THEME=Adwaita XCURSOR_SIZE=32 xorg_env_spawn \
		xterm -geometry 40x10+100+100 -name ctest -hold -e true >/dev/null 2>&1
	for _ in $(seq 50); do
		xdotool search --onlyvisible --classname ctest >/dev/null 2>&1 && break
		sleep 0.1
	done
	x11perf -repeat 1 -reps 100 -rect100 >/dev/null 2>&1
	xdotool mousemove 200 150 >/dev/null 2>&1
	sleep 0.5
}
# cursor_server [OPT...]: a mode 2 server with OPTs, the ARGB cursor on it;
# sets sw to its software_cursor count.
cursor_server() {
	xorg_env_start "$MODDIR" Cap.Bootup=2 Cap.DfbBackingMode=2 "$@" || exit 1
	N="xorg-$XENV_DISPLAY"
	argb_cursor
	sw=$(status_value "$N" software_cursor)
}
if [ -d /usr/share/icons/Adwaita/cursors ]; then
	cursor_server
	[ "$sw" = 1 ] && ok "ARGB cursor: the server draws it in software" ||
		bad "ARGB cursor: software_cursor=$sw (the check below proves nothing)"
	backing_is copy "software cursor in mode 2 (fallback)"
	xorg_env_stop
	cursor_server ScreenCursor=off
	[ "$sw" = 0 ] && ok "ScreenCursor off: no software cursor drawn" ||
		bad "ScreenCursor off: software_cursor=$sw"
	backing_is alias "ScreenCursor off, ARGB cursor"
	check "ScreenCursor off: surface == screen" "$XCHECK" compare "$N"
	snapcheck "$N" "ScreenCursor off"
	shape=$("$CTL" status "$N" | sed -n 's/^cursor: *\(.*\)/\1/p')
	case $shape in
	visible*shape\ 32x32* | visible*shape\ 48x48*) ok "the cursor still reaches the mirror: $shape" ;;
	*) bad "cursor in the mirror: $shape" ;;
	esac
	no_errors
else
	echo "     (no Adwaita cursor theme: the ScreenCursor checks are skipped)"
fi
finish
