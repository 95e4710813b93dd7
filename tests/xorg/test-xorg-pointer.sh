#!/bin/bash
# Pointer.Enabled=1: the cursor is drawn into the surface (save-under in the
# shadow lines).  GetImage never contains the cursor, so the comparison excludes
# the cursor's rectangle while it is on screen (checked to be the only
# difference), then the cursor is moved off the region we compare.
. "$(dirname "$0")/common.sh"
xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=2 Pointer.Enabled=1 || exit 1
N="xorg-$XENV_DISPLAY"

xterm -geometry 80x24+20+20 -name ptest -hold -e sh -c "seq 1 200" >/dev/null 2>&1 &
XENV_PIDS="$XENV_PIDS $!"
xdotool search --sync --classname ptest >/dev/null
xdotool mousemove 400 300
# the cursor (at most 64x64 around the hotspot) is the only difference
check "cursor drawn: surface == screen outside the cursor rect" "$XCHECK" compare "$N" 336,236,464,364
if "$XCHECK" compare "$N" >/dev/null 2>&1; then
	bad "the cursor is not in the surface (surface == screen including the cursor rect)"
else
	ok "the cursor is in the surface (it differs from GetImage inside the cursor rect)"
fi
# moving the cursor restores the save-under exactly
xdotool mousemove 1000 740
check "cursor moved away: old place restored exactly" "$XCHECK" compare "$N" 936,676,1024,768
check "workload under the cursor: completeness" "$XCHECK" complete "$N" -- \
	sh -c 'xdotool mousemove 60 60; x11perf -repeat 1 -reps 300 -copywinwin100 -ftext >/dev/null'
# x11perf warps the pointer off its window when it starts: bring it back
xdotool mousemove 60 60
check "after workload under the cursor: surface == screen outside the cursor" \
	"$XCHECK" compare "$N" 0,0,130,130
server_alive "end"
no_errors
finish
