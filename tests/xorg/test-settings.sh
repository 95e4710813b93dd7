#!/bin/bash
# SPDX-License-Identifier: MIT
# The settings matrix: one driver (the Xorg module, or mirage-x11 on Xvfb)
# started with each value of each setting, then one server whose settings
# are changed at run time to each value in turn; after each, a workload
# (text, fills, copies, a window move) and an exactness check:
#   - with a surface: surface == XGetImage of the root, in the surface's
#     format (with Pointer.Enabled=1 the cursor's corner is left out: the
#     cursor is drawn there on purpose);
#   - Cap.DfbBackingMode=0 (no surface): every pixel that changes lies in a
#     record published meanwhile;
#   - the value is in force (miragectl settings), the surface has the bpp
#     it asks for, Cap.Bootup=0 starts detached and attaches on request.
# With XENV_SCREEN_READ=getimage the module reads as on a GPU, and mode 2
# is checked to be refused (settings-module-getimage).
# Usage: test-settings.sh module|x11
. "$(dirname "$0")/common.sh"

DRIVER=${1:?usage: test-settings.sh module|x11}
[ -x "$CTL" ] || skip "no miragectl"
case $DRIVER in
module) ;;
x11)
	[ -n "${MIRAGE_X11:-}" ] || skip "mirage-x11 not built"
	command -v Xvfb >/dev/null || skip "no Xvfb"
	;;
*) echo "usage: test-settings.sh module|x11" >&2; exit 2 ;;
esac

# The pointer rests in the bottom-right corner, away from the workload:
# with Pointer.Enabled=1 this rectangle holds the cursor.
CURSOR_BOX=960,704,1024,768

XVFB_PID=""
X11_PID=""
stop_driver() {
	[ -n "$X11_PID" ] && { kill "$X11_PID" 2>/dev/null; wait "$X11_PID" 2>/dev/null; }
	[ -n "$XVFB_PID" ] && { kill "$XVFB_PID" 2>/dev/null; wait "$XVFB_PID" 2>/dev/null; }
	X11_PID=""; XVFB_PID=""
	xorg_env_cleanup
	XENV_PIDS=""; XORG_PID=""; XENV_DIR=""
}
trap stop_driver EXIT

# start_driver K=V...: a fresh server mirrored with these settings; sets N.
start_driver() {
	xorg_env_init
	trap stop_driver EXIT
	if [ "$DRIVER" = module ]; then
		xorg_env_start "$MODDIR" "$@" || return 1
		N="xorg-$XENV_DISPLAY"
		return 0
	fi
	MIRAGE_DIR="$XENV_DIR/run"
	mkdir -m 700 "$MIRAGE_DIR"
	export MIRAGE_DIR
	Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp -noreset 3>"$XENV_DIR/display" \
		>"$XENV_DIR/xvfb.log" 2>&1 &
	XVFB_PID=$!
	d=""
	for _ in $(seq 100); do
		d=$(cat "$XENV_DIR/display" 2>/dev/null)
		[ -n "$d" ] && break
		sleep 0.1
	done
	[ -n "$d" ] || { echo "Xvfb did not start" >&2; return 1; }
	export DISPLAY=":$d"
	N="x11-$d"
	set -- $(printf -- '--set %s ' "$@")
	"$MIRAGE_X11" --display "$DISPLAY" "$@" >"$XENV_DIR/mirage-x11.log" 2>&1 &
	X11_PID=$!
	for _ in $(seq 50); do
		"$CTL" status "$N" >/dev/null 2>&1 && return 0
		kill -0 "$X11_PID" 2>/dev/null || {
			echo "mirage-x11 exited at start: $(cat "$XENV_DIR/mirage-x11.log")" >&2
			wait "$X11_PID"; echo "(exit status $?)" >&2
			X11_PID=""
			return 1
		}
		sleep 0.1
	done
	echo "mirage-x11 did not answer" >&2
	return 1
}

driver_alive() {
	if [ "$DRIVER" = module ]; then
		xorg_env_alive
	else
		kill -0 "$X11_PID" 2>/dev/null
	fi
}

# Text, solid fills, copies and a window move, then the pointer to its corner.
WORKLOAD_N=0
workload() {
	WORKLOAD_N=$((WORKLOAD_N + 1))
	xterm -geometry 60x12+20+20 -name "mtx$WORKLOAD_N" -hold -e sh -c "seq 1 80" >/dev/null 2>&1 &
	XENV_PIDS="$XENV_PIDS $!"
	w=$(xdotool search --sync --classname "mtx$WORKLOAD_N" 2>/dev/null | head -n 1)
	x11perf -repeat 1 -reps 40 -rect100 -copywinwin100 -ftext >/dev/null 2>&1
	[ -n "$w" ] && xdotool windowmove "$w" $((60 + WORKLOAD_N * 7)) $((50 + WORKLOAD_N * 5))
	xdotool mousemove 1000 740
}

# exact TAG: the exactness check that fits the settings in force.
exact() {
	local tag=$1 mode pointer bpp want
	mode=$(setting Cap.DfbBackingMode)
	pointer=$(setting Pointer.Enabled)
	if [ "$mode" = 0 ]; then
		check "$tag: records cover every change (no surface)" "$XCHECK" complete "$N" --live -- \
			x11perf -repeat 1 -time 1 -rect10 -ftext
		return
	fi
	if [ "$pointer" = 1 ]; then
		check "$tag: surface == screen outside the cursor" "$XCHECK" compare "$N" "$CURSOR_BOX"
	else
		check "$tag: surface == screen" "$XCHECK" compare "$N"
	fi
	if [ "$DRIVER" = module ] && getimage; then
		# ScreenRead getimage (settings-module-getimage): read as on a
		# GPU, so mode 2 is refused and the surface copied
		fa=$(status_value "$N" fb_access)
		[ "$fa" = getimage ] && ok "$tag: fb_access=getimage" || bad "$tag: fb_access=$fa"
		if [ "$mode" = 2 ]; then
			b=$(status_value "$N" backing)
			why=$(status_value "$N" backing_fallback)
			[ "$b" = copy ] && [ "$why" != none ] && ok "$tag: mode 2 refused: $why" ||
				bad "$tag: mode 2: backing=$b, backing_fallback=$why"
			[ "$pointer" = 1 ] || alias_check "$N" "$tag"
		fi
	fi
	want=$(setting Screen.ForcedBpp)
	bpp=$(status_field bpp)
	if [ "$want" = 0 ]; then
		[ "$bpp" = 32 ] && ok "$tag: native bpp 32" || bad "$tag: bpp $bpp, expected the native 32"
	else
		[ "$bpp" = "$want" ] && ok "$tag: bpp $bpp" || bad "$tag: bpp $bpp, expected $want"
	fi
}

# setting KEY: its value in force.
setting() { "$CTL" settings "$N" | awk -F= -v k="$1" '$1 == k {print $2}'; }

# in_force TAG KEY VALUE
in_force() {
	v=$(setting "$2")
	[ "$v" = "$3" ] && ok "$1: $2=$3 in force" || bad "$1: $2 is \"$v\", expected $3"
}

# status_field KEY: the first word of KEY's line in `miragectl status`.
status_field() { "$CTL" status "$N" | awk -v k="$1:" '$1 == k {print $2; exit}'; }
attached() { status_field attached; }

VALUES="Pointer.Enabled=0 Pointer.Enabled=1
Screen.ForcedBpp=0 Screen.ForcedBpp=16 Screen.ForcedBpp=24 Screen.ForcedBpp=32
Cap.DfbBackingMode=0 Cap.DfbBackingMode=2 Cap.DfbBackingMode=3
Order.BltCopyBits.Enabled=0 Order.BltCopyBits.Enabled=1
Order.SolidFill.Enabled=0 Order.SolidFill.Enabled=1
Cap.Bootup=0 Cap.Bootup=1 Cap.Bootup=2"

# 1. Each value at start.
for kv in $VALUES; do
	tag="$DRIVER, $kv at start"
	k=${kv%%=*}; v=${kv#*=}
	opts="$kv"
	# Attached from the start unless Cap.Bootup itself is under test.
	[ "$k" = Cap.Bootup ] || opts="$opts Cap.Bootup=2"
	# shellcheck disable=SC2086 # one K=V a word
	if ! start_driver $opts; then
		bad "$tag: the driver did not start"
		stop_driver
		continue
	fi
	in_force "$tag" "$k" "$v"
	if [ "$kv" = Cap.Bootup=0 ]; then
		[ "$(attached)" = no ] && ok "$tag: starts detached" || bad "$tag: attached is $(attached)"
		"$CTL" attach "$N" >"$XENV_DIR/attach.out" 2>&1 &
		apid=$!
		for _ in $(seq 50); do
			[ "$(attached)" = yes ] && break
			sleep 0.1
		done
		[ "$(attached)" = yes ] && ok "$tag: miragectl attach attaches" || bad "$tag: attach failed: $(cat "$XENV_DIR/attach.out")"
		workload
		exact "$tag, attached by the manager"
		kill "$apid"; wait "$apid" 2>/dev/null
		for _ in $(seq 30); do
			[ "$(attached)" = no ] && break
			sleep 0.1
		done
		[ "$(attached)" = no ] && ok "$tag: detached when the manager left" || bad "$tag: still attached"
	else
		[ "$(attached)" = yes ] && ok "$tag: attached" || bad "$tag: attached is $(attached)"
		workload
		exact "$tag"
	fi
	driver_alive && ok "$tag: driver alive" || bad "$tag: the driver died"
	[ "$DRIVER" = module ] && no_errors
	stop_driver
done

# 2. Each value at run time, on one server.
if start_driver Cap.Bootup=2; then
	for kv in $VALUES; do
		tag="$DRIVER, $kv at run time"
		k=${kv%%=*}; v=${kv#*=}
		[ "$k" = Cap.Bootup ] && continue # below
		if ! "$CTL" settings "$N" "$kv" >"$XENV_DIR/set.out" 2>&1; then
			bad "$tag: refused: $(cat "$XENV_DIR/set.out")"
			continue
		fi
		in_force "$tag" "$k" "$v"
		workload
		exact "$tag"
		driver_alive || { bad "$tag: the driver died"; break; }
	done
	# Back to the defaults, then Cap.Bootup: 2 -> 1 -> 0 keeps the mirror
	# attached (it only says what happens at start and when the manager
	# leaves); 0 -> 2 with a detached mirror attaches it.
	"$CTL" settings "$N" Pointer.Enabled=0 Screen.ForcedBpp=0 Cap.DfbBackingMode=3 >/dev/null 2>&1
	for v in 1 0; do
		tag="$DRIVER, Cap.Bootup=$v at run time"
		"$CTL" settings "$N" "Cap.Bootup=$v" >/dev/null 2>&1 || bad "$tag: refused"
		in_force "$tag" Cap.Bootup "$v"
		workload
		exact "$tag"
	done
	"$CTL" detach "$N" >/dev/null 2>&1
	[ "$(attached)" = no ] && ok "$DRIVER, detached with Cap.Bootup=0" || bad "$DRIVER: detach failed"
	"$CTL" settings "$N" Cap.Bootup=2 >/dev/null 2>&1 || bad "$DRIVER: Cap.Bootup=2 refused"
	[ "$(attached)" = yes ] && ok "$DRIVER, Cap.Bootup=2 at run time attaches" ||
		bad "$DRIVER, Cap.Bootup=2 at run time: attached is $(attached)"
	workload
	exact "$DRIVER, Cap.Bootup=2 at run time"
	driver_alive && ok "$DRIVER: alive after every change" || bad "$DRIVER: the driver died"
	[ "$DRIVER" = module ] && no_errors
	stop_driver
else
	bad "$DRIVER: the driver did not start for the run-time changes"
fi

finish
