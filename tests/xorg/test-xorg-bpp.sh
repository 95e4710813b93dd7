#!/bin/bash
# Screen.ForcedBpp 16/24/32 and Cap.DfbBackingMode 0/2/3, set in xorg.conf
# and changed at run time; a depth-16 screen.
. "$(dirname "$0")/common.sh"

workload() {
	xterm -geometry 80x24+30+30 -name btest -hold -e sh -c "seq 1 300" >/dev/null 2>&1 &
	XENV_PIDS="$XENV_PIDS $!"
	xdotool search --sync --classname btest >/dev/null
	x11perf -repeat 1 -reps 200 -rect100 -copywinwin100 -ftext -putimage100 >/dev/null 2>&1
}

for bpp in 16 24 32; do
	xorg_env_init
	xorg_env_start "$MODDIR" Cap.Bootup=2 Screen.ForcedBpp=$bpp || exit 1
	N="xorg-$XENV_DISPLAY"
	workload
	check "ForcedBpp $bpp: surface == screen (in the surface format)" "$XCHECK" compare "$N"
	[ "$bpp" != 16 ] && snapcheck "$N" "ForcedBpp $bpp"
	if [ -x "$CTL" ]; then
		b=$("$CTL" status "$N" | awk '/^bpp:/ {print $2}')
		[ "$b" = "$bpp" ] && ok "status shows bpp $bpp" || bad "status bpp $b, expected $bpp"
	fi
	no_errors
	xorg_env_cleanup
	XENV_PIDS=""; XORG_PID=""
done

# run-time changes on one server
xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=2 || exit 1
N="xorg-$XENV_DISPLAY"
workload
if [ -x "$CTL" ]; then
	for s in Screen.ForcedBpp=16 Screen.ForcedBpp=24 Screen.ForcedBpp=0 \
		 Cap.DfbBackingMode=0 Cap.DfbBackingMode=2 Cap.DfbBackingMode=3; do
		"$CTL" settings "$N" "$s" >/dev/null 2>&1 || bad "settings $s refused"
		case $s in
		Cap.DfbBackingMode=0)
			b=$("$CTL" status "$N" | awk '/^bpp:/ {print $2}')
			[ "$b" = 0 ] && ok "DfbBackingMode 0: records only (bpp 0)" || bad "mode 0: bpp $b"
			check "DfbBackingMode 0: records still complete" "$XCHECK" complete "$N" --live -- \
				x11perf -repeat 1 -time 1 -rect10 -ftext
			;;
		*)
			check "after $s: surface == screen" "$XCHECK" compare "$N"
			;;
		esac
	done
fi
no_errors
xorg_env_cleanup
XENV_PIDS=""; XORG_PID=""

# a depth-16 screen, surface at native 16 and forced 32
XENV_DEPTH=16
xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=2 || exit 1
N="xorg-$XENV_DISPLAY"
workload
check "depth 16 screen: surface == screen" "$XCHECK" compare "$N"
"$CTL" settings "$N" Screen.ForcedBpp=32 >/dev/null 2>&1
check "depth 16 screen, ForcedBpp 32: surface == screen" "$XCHECK" compare "$N"
no_errors
finish
