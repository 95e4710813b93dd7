#!/bin/bash
# Faults: a consumer killed mid-read, a consumer that never reads (LOST,
# then exact), 50 resizes in a row, the manager dying, detach/attach.  The
# X server keeps serving X clients throughout.
. "$(dirname "$0")/common.sh"
xorg_env_init
xorg_env_start "$MODDIR" Cap.Bootup=0 || exit 1
N="xorg-$XENV_DISPLAY"

# detached: nothing published; attached by a manager that then dies
if [ -x "$CTL" ]; then
	a=$("$CTL" status "$N" | awk '/^attached:/ {print $2}')
	[ "$a" = no ] && ok "Cap.Bootup 0: starts detached" || bad "Cap.Bootup 0: attached=$a"
	"$CTL" attach "$N" >/dev/null 2>&1 &
	MGR=$!
	XENV_PIDS="$XENV_PIDS $MGR"
	sleep 0.5
	a=$("$CTL" status "$N" | awk '/^attached:/ {print $2}')
	[ "$a" = yes ] && ok "attach: attached" || bad "attach: attached=$a"
	check "attached by a manager: surface == screen" "$XCHECK" compare "$N"
	kill -9 $MGR 2>/dev/null; wait $MGR 2>/dev/null
	sleep 0.3
	a=$("$CTL" status "$N" | awk '/^attached:/ {print $2}')
	[ "$a" = no ] && ok "manager killed: detached" || bad "manager killed: attached=$a"
	server_alive "after the manager died"
	"$CTL" attach --persist "$N" >/dev/null 2>&1 || bad "attach --persist"
fi

# a consumer killed in the middle of reading
xorg_env_spawn "$XCHECK" spin "$N" >/dev/null 2>&1
SPIN=$XENV_LAST_PID
x11perf -repeat 1 -reps 300 -rect10 -ftext >/dev/null 2>&1 &
XP=$!
sleep 0.3
kill -9 "$SPIN" 2>/dev/null
wait "$XP" 2>/dev/null
server_alive "consumer killed mid-read"
check "after the killed consumer: surface == screen" "$XCHECK" compare "$N"

# a consumer that never reads: overrun -> LOST, exact after refresh.  The
# copies fill the ring: x11perf's dots and lines lie side by side and fold
# into a few records (records_folded).
check "overrun: LOST, then exact" "$XCHECK" stall "$N" -- \
	x11perf -repeat 1 -time 1 -rect1 -seg1 -copywinwin10
server_alive "after the overrun"

# 50 resizes in a row, with a consumer following
xorg_env_spawn "$XCHECK" spin "$N" >/dev/null 2>&1
for i in $(seq 1 25); do
	xrandr --fb 800x600 >/dev/null 2>&1
	xrandr --fb 1024x768 >/dev/null 2>&1
done
server_alive "50 resizes"
check "after 50 resizes: surface == screen" "$XCHECK" compare "$N"
if [ -x "$CTL" ]; then
	r=$("$CTL" status "$N" | awk -F= '/resizes=/ {print $2}')
	[ "${r:-0}" -ge 50 ] && ok "status counts $r resizes" || bad "resizes=$r"
	# a malformed peer on the control socket
	printf 'garbage' | timeout 2 socat - "UNIX-CONNECT:$MIRAGE_DIR/$N.sock" >/dev/null 2>&1
	"$CTL" detach "$N" >/dev/null 2>&1 || bad "detach"
	a=$("$CTL" status "$N" | awk '/^attached:/ {print $2}')
	[ "$a" = no ] && ok "detach: detached" || bad "detach: attached=$a"
	x11perf -repeat 1 -reps 200 -rect10 >/dev/null 2>&1
	server_alive "drawing while detached"
fi
no_errors

# A bad ScreenRead value: one error that names it, the default (direct)
# in force, the server and the mirror up.
if [ -x "$CTL" ]; then
	xorg_env_stop
	XENV_SCREEN_READ=gpu xorg_env_start "$MODDIR" Cap.Bootup=2 || exit 1
	N="xorg-$XENV_DISPLAY"
	grep -qF '(EE) mirage: Option "ScreenRead" "gpu": not direct or getimage; using direct' \
		"$XORG_LOG" && ok "ScreenRead gpu: the error names the value" ||
		bad "ScreenRead gpu: no error naming the value in the log"
	fa=$(status_value "$N" fb_access)
	[ "$fa" = direct ] && ok "ScreenRead gpu: the default (fb_access=direct) in force" ||
		bad "ScreenRead gpu: fb_access=$fa"
	check "ScreenRead gpu: surface == screen" "$XCHECK" compare "$N"
fi
finish
