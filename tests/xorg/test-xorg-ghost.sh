#!/bin/bash
# The ghost: a software cursor (the dummy driver has no hardware cursor, so
# misprite draws every cursor into the framebuffer) must never stay in the
# surface when something repaints the area under it without a round trip
# (a compositor, a GL client): the batch is then published from the block
# handler, after misprite has drawn the cursor back.  The surface must equal
# XGetImage of the root, which never has the cursor, with Pointer.Enabled 0
# (cursor left out) and 1 (cursor drawn by the module: compared outside its
# rectangle, then at the place it left).
. "$(dirname "$0")/common.sh"
xorg_env_init

# ghost_checks TAG POINTER: repaint under the pointer in each way, compare.
ghost_checks() {
	local tag=$1 pointer=$2 x=120 y=120 m skip
	for cursor in argb-cursor core-cursor; do
		check "$tag: $cursor defined" "$XCHECK" "$cursor" "$N"
		for m in put copy render argb; do
			xdotool mousemove $x $y
			sleep 0.2
			check "$tag, $cursor: repaint ($m) under the pointer" "$XCHECK" repaint "$N" "$m"
			# the cursor, at most 64x64 around its hotspot
			skip=$((x - 64)),$((y - 64)),$((x + 64)),$((y + 64))
			if [ "$pointer" = 0 ]; then
				check "$tag, $cursor, $m: surface == XGetImage" "$XCHECK" compare "$N"
			else
				check "$tag, $cursor, $m: surface == XGetImage outside the cursor" \
					"$XCHECK" compare "$N" "$skip"
			fi
			xdotool mousemove 1000 740
			check "$tag, $cursor, $m: pointer gone, its place == XGetImage" \
				"$XCHECK" compare "$N" 936,676,1024,768
			x=$((x + 180))
			[ $x -gt 900 ] && { x=120; y=$((y + 170)); }
		done
	done
}

# The issue's own case: a compositing window manager repainting a window
# dragged by its title bar.  (Needs xfwm4 and a session bus for its settings.)
xfwm4_drag() {
	local tag=$1 pointer=$2 w
	command -v xfwm4 >/dev/null && command -v dbus-daemon >/dev/null ||
		{ echo "     (no xfwm4: the compositor drag is left out)"; return 0; }
	"$XCHECK" argb-cursor "$N" >/dev/null
	# A bus of our own, killed by PID at cleanup (dbus-run-session leaves
	# its daemon behind when it is killed), and no accessibility bus.
	rm -f "$XENV_DIR/bus"
	xorg_env_spawn dbus-daemon --session --nofork --print-address=3 3>"$XENV_DIR/bus"
	for _ in $(seq 50); do
		[ -s "$XENV_DIR/bus" ] && break
		sleep 0.1
	done
	DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$XENV_DIR/bus") NO_AT_BRIDGE=1 \
		xorg_env_spawn xfwm4 --compositor=on --vblank=off >/dev/null 2>&1
	XFWM=$XENV_LAST_PID
	sleep 2
	xorg_env_spawn xterm -geometry 80x24+100+100 -name ghostdrag -hold -e sh -c "seq 1 50" \
		>/dev/null 2>&1
	w=$(xdotool search --sync --classname ghostdrag | head -n 1)
	sleep 1
	# the title bar: above the client window, inside its frame
	X=$(xwininfo -id "$w" | awk '/Absolute upper-left X/ {print $4}')
	Y=$(xwininfo -id "$w" | awk '/Absolute upper-left Y/ {print $4}')
	xdotool mousemove $((X + 100)) $((Y - 12))
	sleep 0.2
	xdotool mousedown 1
	for i in $(seq 1 40); do
		xdotool mousemove $((X + 100 + i * 5)) $((Y - 12 + i * 3))
		sleep 0.02
	done
	xdotool mouseup 1
	sleep 0.5
	X=$(xwininfo -id "$w" | awk '/Absolute upper-left X/ {print $4}')
	Y=$(xwininfo -id "$w" | awk '/Absolute upper-left Y/ {print $4}')
	[ "$X" -gt 250 ] && ok "$tag: xfwm4 moved the window (now at $X,$Y)" ||
		bad "$tag: the title-bar drag did not move the window (at $X,$Y)"
	eval "$(xdotool getmouselocation --shell)"
	local px=$X py=$Y
	if [ "$pointer" = 0 ]; then
		check "$tag: xfwm4 compositor drag: surface == XGetImage" "$XCHECK" compare "$N"
	else
		check "$tag: xfwm4 compositor drag: surface == XGetImage outside the cursor" \
			"$XCHECK" compare "$N" $((px - 64)),$((py - 64)),$((px + 64)),$((py + 64))
	fi
	xdotool mousemove 1000 740
	check "$tag: xfwm4 drag, pointer gone: surface == XGetImage (outside its new place)" \
		"$XCHECK" compare "$N" 936,676,1024,768
	xorg_env_kill "$XFWM"
}

# A GL client drawing frame after frame (swrast: XPutImage), stopped while
# the pointer rests on it.
glxgears_check() {
	local tag=$1 pointer=$2 g
	command -v glxgears >/dev/null ||
		{ echo "     (no glxgears: the GL client is left out)"; return 0; }
	xorg_env_spawn glxgears -geometry 300x300+600+300 >/dev/null 2>&1
	g=$XENV_LAST_PID
	sleep 2
	xdotool mousemove 750 450
	sleep 1.5
	kill -STOP "$g"
	if [ "$pointer" = 0 ]; then
		check "$tag: glxgears under the pointer: surface == XGetImage" "$XCHECK" compare "$N"
	else
		check "$tag: glxgears under the pointer: surface == XGetImage outside the cursor" \
			"$XCHECK" compare "$N" 686,386,814,514
	fi
	xdotool mousemove 1000 740
	check "$tag: glxgears, pointer gone: surface == XGetImage (outside its new place)" \
		"$XCHECK" compare "$N" 936,676,1024,768
	kill -CONT "$g"
	xorg_env_kill "$g"
}

for pointer in 0 1; do
	tag="Pointer.Enabled=$pointer"
	xorg_env_start "$MODDIR" Cap.Bootup=2 Pointer.Enabled=$pointer || exit 1
	N="xorg-$XENV_DISPLAY"
	ghost_checks "$tag" "$pointer"
	glxgears_check "$tag" "$pointer"
	xfwm4_drag "$tag" "$pointer"
	sw=$(status_value "$N" software_cursor)
	[ "$sw" = 1 ] && ok "$tag: the cursor was drawn in software (software_cursor=1)" ||
		bad "$tag: software_cursor=$sw: no software cursor, nothing was tested"
	server_alive "$tag: end"
	no_errors
	xorg_env_stop
done
finish
