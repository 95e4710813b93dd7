#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Where one VNC server's CPU goes, thread by thread, over one workload.
#
#   bash bench/vnc/threads.sh [BUILD] embedded|xvnc|xorg drag|typing|scroll|x11perf
#
# Starts the server (mirage-vnc --embedded, TigerVNC's Xvnc, or a plain
# Xorg with the dummy driver and the screen --embedded sets up but without
# the mirage module, with twm and an xterm) on a free display and port,
# connects one libvncclient viewer (tests/vnc/vnc-check, ZRLE), runs the
# workload and prints, per thread of the server's processes (Xorg
# included), the CPU time from /proc/PID/task/TID/schedstat (nanoseconds,
# not 10 ms ticks) and its voluntary and involuntary context switches.
# Threads that used under 0.05 ms are left out.  The workloads are
# bench-vnc.sh's (typing: 224 characters, 15 ms apart).  VIEWER=0 runs the
# workload with no viewer (the only way for xorg): the X server's own work,
# or with it what the VNC side costs while nobody watches.  Set PERF=1 to
# also record the mirage-vnc (or Xvnc) process with perf into ./perf.data,
# PERF=xorg to record the embedded Xorg.  ENCODINGS and COMPRESS (default
# 3) set what the viewer asks for.
set -u
BUILD=${1:-build}
SERVER=${2:-embedded}
WORK=${3:-drag}
MIRAGE_VNC=$BUILD/src/tools/vnc/mirage-vnc
VNC_CHECK=$BUILD/tests/vnc/vnc-check
[ -x "$VNC_CHECK" ] || { echo "threads: no $VNC_CHECK (build first)" >&2; exit 2; }

TMP=$(mktemp -d)
PIDS=""
cleanup() {
	# shellcheck disable=SC2086
	[ -n "$PIDS" ] && kill $PIDS 2> /dev/null
	sleep 0.5
	# shellcheck disable=SC2086
	[ -n "$PIDS" ] && kill -9 $PIDS 2> /dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

PORT=5980
while ss -Hltn "sport = :$PORT" | grep -q .; do PORT=$((PORT + 1)); done
D=90
while [ -e "/tmp/.X11-unix/X$D" ] || [ -e "/tmp/.X$D-lock" ]; do D=$((D + 1)); done

case $SERVER in
embedded)
	"$MIRAGE_VNC" --embedded --geometry 1024x768 --listen "127.0.0.1:$PORT" --http-port 0 -v \
		> "$TMP/log" 2>&1 &
	VPID=$!
	PIDS=$VPID
	DISP=""
	for _ in $(seq 100); do
		DISP=$(sed -n 's/^mirage-vnc: input into //p' "$TMP/log")
		[ -n "$DISP" ] && break
		sleep 0.1
	done
	[ -n "$DISP" ] || { cat "$TMP/log" >&2; exit 1; }
	SRV_PIDS="$VPID $(pgrep -P "$VPID" -x Xorg || true) $(pgrep -P "$VPID" -x dbus-daemon || true)"
	;;
xvnc | xorg)
	if [ "$SERVER" = xvnc ]; then
		Xvnc ":$D" -geometry 1024x768 -depth 24 -rfbport "$PORT" -localhost=1 \
			-SecurityTypes None -nolisten tcp > "$TMP/log" 2>&1 &
	else
		# mirage-vnc --embedded's screen: its largest mode sets the
		# framebuffer's stride.
		printf '%s\n' 'Section "ServerFlags"' '  Option "AutoAddDevices" "false"' \
			'  Option "AutoEnableDevices" "false"' '  Option "DontVTSwitch" "true"' \
			'  Option "BlankTime" "0"' 'EndSection' 'Section "Device"' \
			'  Identifier "dummy"' '  Driver "dummy"' '  VideoRam 12196' 'EndSection' \
			'Section "Monitor"' '  Identifier "monitor"' '  HorizSync 5.0-1000.0' \
			'  VertRefresh 5.0-200.0' \
			'  Modeline "1024x768" 65.16 1024 1088 1216 1344 768 771 775 808' \
			'EndSection' 'Section "Screen"' '  Identifier "screen"' '  Device "dummy"' \
			'  Monitor "monitor"' '  DefaultDepth 24' '  SubSection "Display"' \
			'    Depth 24' '    Modes "1024x768"' '    Virtual 1920 1080' \
			'  EndSubSection' 'EndSection' > "$TMP/xorg.conf"
		/usr/lib/xorg/Xorg ":$D" -config "$TMP/xorg.conf" -noreset -nolisten tcp \
			-logfile "$TMP/Xorg.log" -novtswitch -quiet > "$TMP/log" 2>&1 &
		VIEWER=0
	fi
	VPID=$!
	PIDS=$VPID
	DISP=":$D"
	for _ in $(seq 100); do
		DISPLAY=$DISP xdpyinfo > /dev/null 2>&1 && break
		sleep 0.1
	done
	# twm as mirage-vnc --embedded sets it up (its default fonts are in no
	# package we need).
	printf '%s\n' 'TitleFont "fixed"' 'ResizeFont "fixed"' 'MenuFont "fixed"' \
		'IconFont "fixed"' 'IconManagerFont "fixed"' RandomPlacement \
		'UsePPosition "on"' NoGrabServer DecorateTransients OpaqueMove > "$TMP/twmrc"
	DISPLAY=$DISP twm -f "$TMP/twmrc" > /dev/null 2>&1 &
	PIDS="$PIDS $!"
	DISPLAY=$DISP xterm -fn fixed -geometry 80x24+40+40 > /dev/null 2>&1 &
	PIDS="$PIDS $!"
	SRV_PIDS=$VPID
	;;
*)
	echo "threads: unknown server $SERVER (embedded or xvnc)" >&2
	exit 2
	;;
esac

WIN=""
for _ in $(seq 100); do
	WIN=$(DISPLAY=$DISP xdotool search --onlyvisible --class xterm 2> /dev/null | head -n 1)
	[ -n "$WIN" ] && break
	sleep 0.1
done
[ -n "$WIN" ] || { echo "threads: no xterm on $DISP" >&2; exit 1; }
export DISPLAY=$DISP WIN
# The pointer over the xterm gives it the focus (twm); a drag then moves
# it out of the window's path, as bench-vnc.sh does.
xdotool windowmove --sync "$WIN" 40 40 mousemove 300 200 click 1 > /dev/null 2>&1
[ "$WORK" = drag ] && xdotool mousemove 1000 700 > /dev/null 2>&1
sleep 0.5

# The workload runs in the viewer's shell: $WIN expands there.
# shellcheck disable=SC2016
case $WORK in
drag)
	W='for r in 1 2 3 4 5; do for i in $(seq 60); do xdotool windowmove $WIN $((40 + i * 5)) $((40 + i * 3)); sleep 0.02; done; done'
	;;
typing)
	T="the quick brown fox jumps over the lazy dog 0123456789 "
	W="xdotool type --delay 15 '$T$T$T$T'; sleep 0.3"
	;;
scroll)
	W="xdotool type --delay 5 \"seq 1 ${SEQ:-3000}\"; xdotool key Return; sleep 2"
	;;
x11perf)
	# The same drawing on every server, whatever its speed.
	W="x11perf -repeat 1 -reps ${REPS:-2000} ${X11PERF:--fitext -scroll500 -copywinwin500} > /dev/null"
	;;
*)
	echo "threads: unknown workload $WORK (drag, typing, scroll or x11perf)" >&2
	exit 2
	;;
esac

# One line per thread: PID TID COMM NS VOLUNTARY INVOLUNTARY.
cat > "$TMP/snap.sh" << EOF
for p in $SRV_PIDS; do
	for t in /proc/\$p/task/*; do
		echo "\$p \${t##*/} \$(cat \$t/comm) \$(cut -d' ' -f1 \$t/schedstat) \$(awk '/^voluntary/ {v = \$2} /^nonvoluntary/ {n = \$2} END {print v, n}' \$t/status)"
	done
done
EOF

PP=""
if [ -n "${PERF:-}" ]; then
	PERF_PID=$VPID
	[ "$PERF" = xorg ] && PERF_PID=$(pgrep -P "$VPID" -x Xorg)
	perf record -F 4000 -g -p "$PERF_PID" -o perf.data > /dev/null 2>&1 &
	PP=$!
fi
RUN="sleep 1; sh $TMP/snap.sh > $TMP/s0; $W; sleep 0.5; sh $TMP/snap.sh > $TMP/s1"
if [ "${VIEWER:-1}" = 0 ]; then
	sh -c "$RUN" > "$TMP/vc.out" 2>&1
	echo "no viewer" >> "$TMP/vc.out"
else
	"$VNC_CHECK" --port "$PORT" --timeout 60 \
		--encodings "${ENCODINGS:-copyrect zrle hextile raw}" \
		--compress "${COMPRESS:-3}" -- sh -c "$RUN" \
		> "$TMP/vc.out" 2>&1 || { cat "$TMP/vc.out" >&2; exit 1; }
fi
if [ -n "$PP" ]; then
	kill -INT "$PP"
	wait "$PP"
fi
echo "$SERVER $WORK: $(tail -n 1 "$TMP/vc.out")"
join <(awk '{print $2, $3, $4, $5, $6}' "$TMP/s0" | sort) \
	<(awk '{print $2, $4, $5, $6}' "$TMP/s1" | sort) |
	awk '{
		ms = ($6 - $3) / 1e6
		if (ms < 0.05)
			next
		printf "%-8s %-16s %9.1f ms  voluntary %6d  involuntary %6d\n", $1, $2, ms, $7 - $4, $8 - $5
		t += ms
	} END { printf "total %.1f ms\n", t }'
