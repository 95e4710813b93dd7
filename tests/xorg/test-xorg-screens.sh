#!/bin/bash
# Two X screens (two dummy Device/Screen sections in one ServerLayout):
# one mirror each, named xorg-N.0 and xorg-N.1, each exact and independent.
. "$(dirname "$0")/common.sh"
[ -x "$CTL" ] || skip "needs miragectl"
XENV_SCREENS=2
xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=2 || exit 1
D=$XENV_DISPLAY

n=$(xdpyinfo | awk '/number of screens:/ {print $4}')
[ "$n" = 2 ] && ok "the server has 2 screens" || bad "the server has ${n:-?} screens"
for s in 0 1; do
	if "$CTL" list 2>/dev/null | grep -q "xorg-$D\.$s"; then
		ok "mirror xorg-$D.$s listed"
	else
		bad "mirror xorg-$D.$s not listed"
		"$CTL" list 2>&1 | sed 's/^/     /'
	fi
done

# different content on each screen, then each mirror equals its own screen
DISPLAY=":$D.0" xterm -geometry 80x24+20+20 -name s0 -hold -e sh -c "seq 1 100" >/dev/null 2>&1 &
XENV_PIDS="$XENV_PIDS $!"
DISPLAY=":$D.1" xterm -geometry 60x20+300+200 -name s1 -hold -e sh -c "ls -la /usr/bin | head -n 80" >/dev/null 2>&1 &
XENV_PIDS="$XENV_PIDS $!"
DISPLAY=":$D.0" xdotool search --sync --classname s0 >/dev/null
DISPLAY=":$D.1" xdotool search --sync --classname s1 >/dev/null
for s in 0 1; do
	DISPLAY=":$D.$s" check "screen $s: surface == screen" "$XCHECK" compare "xorg-$D.$s"
	DISPLAY=":$D.$s" check "screen $s: x11perf completeness while it runs" \
		"$XCHECK" complete "xorg-$D.$s" --live -- x11perf -repeat 1 -time 1 -rect100
done
# drawing on screen 1 publishes nothing on screen 0
c0=$(status_value "xorg-$D.0" records)
DISPLAY=":$D.1" x11perf -repeat 1 -reps 200 -rect100 >/dev/null 2>&1
DISPLAY=":$D.1" check "screen 1 after drawing: surface == screen" "$XCHECK" compare "xorg-$D.1"
c1=$(status_value "xorg-$D.0" records)
[ "$c0" = "$c1" ] && ok "drawing on screen 1 left mirror 0 alone ($c0 records)" ||
	bad "mirror 0 records changed from $c0 to $c1 while only screen 1 drew"
DISPLAY=":$D.0" check "screen 0 still exact" "$XCHECK" compare "xorg-$D.0"
# The published layout is RandR 1.5's monitor list: user-defined monitors
# (xrandr --setmonitor), and a CRTC only while no monitor claims its output.
out=$(DISPLAY=":$D.0" xrandr | awk '/ connected/ {print $1; exit}')
DISPLAY=":$D.0" xrandr --setmonitor mirage-left 512/100x768/100+0+0 none >/dev/null 2>&1
DISPLAY=":$D.0" xrandr --setmonitor mirage-right 512/100x768/100+512+0 "$out" >/dev/null 2>&1
DISPLAY=":$D.0" xdpyinfo >/dev/null 2>&1
mons=$("$CTL" status "xorg-$D.0" | sed -n '/^monitors:/,/^settings:/p')
if echo "$mons" | grep -q "^monitors: *2$" &&
   echo "$mons" | grep -q "mirage-left 0,0,512,768" &&
   echo "$mons" | grep -q "mirage-right 512,0,1024,768"; then
	ok "xrandr --setmonitor: the header lists mirage-left and mirage-right, not $out"
else
	bad "xrandr --setmonitor: monitors not published as set"
	echo "$mons" | sed 's/^/     /'
fi
DISPLAY=":$D.0" server_alive "end"
no_errors
finish
