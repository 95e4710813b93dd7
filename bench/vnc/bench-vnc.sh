#!/bin/sh
# mirage-vnc against other VNC servers, on the same scripted workloads with
# one libvncclient viewer (tests/vnc/vnc-check) each:
#
#   embedded   mirage-vnc --embedded (headless Xorg + the mirage module)
#   x11        mirage-vnc --display on Xvfb (mirage-x11)
#   x11vnc     x11vnc on Xvfb
#   x0vnc      TigerVNC's x0vncserver on Xvfb
#   xvnc       TigerVNC's Xvnc (its own X server)
#
# Workloads, in an xterm (80x24) under twm on a 1024x768 screen: typing
# (200 characters), scrolling (seq 1 3000 in the xterm), a 60-step window
# drag (xdotool windowmove, the pointer out of the way), idle ($IDLE
# seconds, default 60); and "connect": a viewer connecting, getting its
# first full picture and leaving.  Each but idle runs $REPEAT times
# (default 5), each time with a new viewer that is left a second to settle
# before the workload starts.  Per workload: CPU seconds of the server
# side (VNC server + capture + the X server) from the workload's start to
# half a second after its end (connect: the viewer's whole visit), the
# median of the repetitions and their range; bytes and updates the viewer
# received; and the median latency from a draw (an xdotool command's exit)
# to the viewer's next complete update (15 probes).
#
# The bytes depend on the encoding more than on the server, so typing,
# scrolling and the drag run once per encoding set in ENCODINGS (a new
# viewer each time; lossless, no JPEG):
#   zrle    "copyrect zrle hextile raw" (the tests' viewer)
#   tight   "tight zrle ultra copyrect hextile zlib corre rre raw"
#           (libvncclient's default order)
#
#   bench/vnc/bench-vnc.sh BUILD_DIR [SERVER ...]
# Environment: IDLE (seconds), REPEAT, ENCODINGS (default "zrle tight"), PORT (RFB
# port, default the first free one in 5980-5999), DISPLAYNUM (first
# display, default 90).
set -eu

BUILD=${1:?usage: bench-vnc.sh BUILD_DIR [SERVER ...]}
shift
BUILD=$(cd "$BUILD" && pwd)
SERVERS=${*:-embedded x11 x11vnc x0vnc xvnc}
IDLE=${IDLE:-60}
REPEAT=${REPEAT:-5}
ENCODINGS=${ENCODINGS:-zrle tight}
for e in $ENCODINGS; do
	case $e in
	zrle | tight) ;;
	*) echo "bench-vnc: unknown encoding set $e (zrle, tight)" >&2; exit 2 ;;
	esac
done
MIRAGE_VNC=$BUILD/src/tools/vnc/mirage-vnc
VNC_CHECK=$BUILD/tests/vnc/vnc-check
export MIRAGE_XORG_MODULE_PATH=${MIRAGE_XORG_MODULE_PATH:-$BUILD/src/drivers/xorg}
for f in "$MIRAGE_VNC" "$VNC_CHECK"; do
	[ -x "$f" ] || { echo "bench-vnc: $f not built" >&2; exit 1; }
done
for p in Xvfb xterm twm xdotool; do
	command -v "$p" > /dev/null || { echo "bench-vnc: $p not installed" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/bench-vnc.XXXXXX)
export MIRAGE_DIR="$TMP/run"
mkdir -m 700 "$MIRAGE_DIR"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2> /dev/null || true; done
	sleep 0.5
	for p in $PIDS; do kill -9 "$p" 2> /dev/null || true; done
	rm -rf "$TMP"
	if [ -n "$CG" ]; then
		while read -r p; do echo "$p" > "$CGROOT/cgroup.procs" 2> /dev/null || true; done < "$CG/cgroup.procs"
		rmdir "$CG" 2> /dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
if [ -z "${PORT:-}" ]; then
	for p in $(seq 5980 5999); do port_free "$p" && { PORT=$p; break; }; done
fi
[ -n "${PORT:-}" ] || { echo "bench-vnc: no free port" >&2; exit 1; }
D=${DISPLAYNUM:-90}
while [ -e "/tmp/.X11-unix/X$D" ] || [ -e "/tmp/.X$D-lock" ]; do D=$((D + 1)); done

# CPU time of the server side.  Where the cpuacct cgroup controller is
# writable (root), the server's processes are moved into a cgroup of their
# own and its nanosecond counter is read, which also counts threads that
# ended (a VNC server's per-viewer threads); otherwise the 10 ms ticks of
# /proc/PID/stat are summed.
CG=""
CGROOT=/sys/fs/cgroup/cpuacct
if [ -w "$CGROOT" ] && mkdir "$CGROOT/mirage-bench.$$" 2> /dev/null; then
	CG="$CGROOT/mirage-bench.$$"
fi
HZ=$(getconf CLK_TCK)
cg_join() {
	[ -n "$CG" ] || return 0
	for p in "$@"; do echo "$p" > "$CG/cgroup.procs" 2> /dev/null || true; done
}
# cpu_ns PID...: nanoseconds of CPU (user + system) so far.  (Its text is
# also written into $TMP/cpu.sh, for the workloads: keep it self-contained.)
declare_cpu_ns() {
	sed -n '/^cpu_ns() {$/,/^}$/p' "$0"
}
cpu_ns() {
	if [ -n "$CG" ]; then
		cat "$CG/cpuacct.usage"
		return
	fi
	t=0
	for p in "$@"; do
		v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2> /dev/null || echo 0)
		t=$((t + v))
	done
	echo $((t * 1000000000 / HZ))
}

wait_x() {
	for _ in $(seq 200); do
		DISPLAY=$1 xdpyinfo > /dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "bench-vnc: X server $1 did not start" >&2
	exit 1
}

wait_port() {
	for _ in $(seq 200); do
		port_free "$PORT" || return 0
		sleep 0.05
	done
	echo "bench-vnc: nothing listens on $PORT" >&2
	exit 1
}

# session DISPLAY: twm and an xterm (for the servers we do not start it for).
session() {
	DISPLAY=$1 twm > /dev/null 2>&1 &
	PIDS="$PIDS $!"
	DISPLAY=$1 xterm -geometry 80x24+40+40 > /dev/null 2>&1 &
	PIDS="$PIDS $!"
}

xvfb() {
	Xvfb ":$D" -screen 0 1024x768x24 -nolisten tcp > /dev/null 2>&1 &
	XPID=$!
	PIDS="$PIDS $XPID"
	wait_x ":$D"
	session ":$D"
	DISP=":$D"
}

# start SERVER: sets DISP, SRV_PIDS (all server-side processes), STOP_PIDS.
start() {
	case $1 in
	embedded)
		"$MIRAGE_VNC" --embedded --geometry 1024x768 --listen "127.0.0.1:$PORT" --http-port 0 -v \
			> "$TMP/srv.log" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		# The port listens a moment before the display is logged.
		DISP=""
		for _ in $(seq 100); do
			DISP=$(sed -n 's/^mirage-vnc: input into //p' "$TMP/srv.log")
			[ -n "$DISP" ] && break
			sleep 0.05
		done
		SRV_PIDS="$VPID $(pgrep -P "$VPID" -x Xorg || true)"
		STOP_PIDS=$VPID
		;;
	x11)
		xvfb
		"$MIRAGE_VNC" --display "$DISP" --listen "127.0.0.1:$PORT" --http-port 0 \
			> "$TMP/srv.log" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		SRV_PIDS="$VPID $(pgrep -P "$VPID" mirage-x11 || true) $XPID"
		STOP_PIDS="$VPID $XPID"
		;;
	x11vnc)
		xvfb
		x11vnc -display "$DISP" -rfbport "$PORT" -localhost -nopw -forever -shared -quiet \
			> "$TMP/srv.log" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		SRV_PIDS="$VPID $XPID"
		STOP_PIDS="$VPID $XPID"
		;;
	x0vnc)
		xvfb
		x0vncserver -display "$DISP" -rfbport "$PORT" -localhost=1 -SecurityTypes None \
			> "$TMP/srv.log" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		SRV_PIDS="$VPID $XPID"
		STOP_PIDS="$VPID $XPID"
		;;
	xvnc)
		Xvnc ":$D" -geometry 1024x768 -depth 24 -rfbport "$PORT" -localhost=1 \
			-SecurityTypes None -nolisten tcp > "$TMP/srv.log" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		DISP=":$D"
		wait_x "$DISP"
		session "$DISP"
		wait_port
		SRV_PIDS=$VPID
		STOP_PIDS=$VPID
		;;
	*)
		echo "bench-vnc: unknown server $1" >&2
		exit 2
		;;
	esac
	cg_join $SRV_PIDS
	# The same reading from inside a workload (vnc-check runs it).
	{
		echo "CG='$CG' HZ=$HZ"
		declare_cpu_ns
		echo "cpu_ns $SRV_PIDS"
	} > "$TMP/cpu.sh"
	# The xterm must be up before the workloads.
	WIN=""
	for _ in $(seq 100); do
		WIN=$(DISPLAY=$DISP xdotool search --onlyvisible --class xterm 2> /dev/null | head -n 1 || true)
		[ -n "$WIN" ] && break
		sleep 0.1
	done
	[ -n "$WIN" ] || { echo "bench-vnc: no xterm on $DISP" >&2; exit 1; }
	DISPLAY=$DISP xdotool windowmove --sync "$WIN" 40 40 > /dev/null 2>&1 || true
	DISPLAY=$DISP xdotool mousemove 300 200 click 1 > /dev/null 2>&1 || true
	sleep 1
}

stop() {
	for p in $STOP_PIDS; do kill "$p" 2> /dev/null || true; done
	for p in $STOP_PIDS; do
		for _ in $(seq 100); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
		kill -9 "$p" 2> /dev/null || true
	done
	# what the session left (twm, xterm) dies with its X server
	sleep 0.5
}

# run NAME WORKLOAD PROBE [PREP]: the workload $REPEAT times (PREP, not
# measured, before each), then its latency probes, with the encodings of
# $ENC.  Each time a new viewer connects, and its first full picture is
# left to settle for a second before the CPU is read: the workload's CPU
# runs from its start to half a second after its end.  "connect" (no
# workload) is read from before the viewer starts to after it left: its
# connection and first full picture.  CPU is the median of the
# repetitions, with the lowest and the highest; the rest is of the last.
run() {
	name=$1 work=$2 probe=$3 prep=${4:-true}
	case $ENC in
	zrle) encs="copyrect zrle hextile raw" ;;
	*) encs="tight zrle ultra copyrect hextile zlib corre rre raw" ;;
	esac
	reps=$REPEAT
	[ "$name" = idle ] && reps=1
	: > "$TMP/cpus"
	for _ in $(seq "$reps"); do
		DISPLAY=$DISP sh -c "$prep" > /dev/null 2>&1 || true
		t0=$(cpu_ns $SRV_PIDS)
		DISPLAY=$DISP "$VNC_CHECK" --port "$PORT" --timeout 30 --encodings "$encs" -- sh -c \
			"sleep 1; s0=\$(date +%s.%N); sh $TMP/cpu.sh > $TMP/c0; $work; sleep 0.5; sh $TMP/cpu.sh > $TMP/c1; echo \$s0 \$(date +%s.%N) > $TMP/wall" \
			> "$TMP/w.out" 2>&1 ||
			{ cat "$TMP/w.out" >&2; echo "bench-vnc: $SERVER $name failed" >&2; exit 1; }
		t1=$(cpu_ns $SRV_PIDS)
		if [ "$name" = connect ]; then
			echo "$t0 $t1" | awk '{print ($2 - $1) / 1e9}' >> "$TMP/cpus"
		else
			echo "$(cat "$TMP/c0") $(cat "$TMP/c1")" | awk '{print ($2 - $1) / 1e9}' >> "$TMP/cpus"
		fi
	done
	cpu=$(sort -n "$TMP/cpus" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)], v[1], v[NR]}')
	lat=-
	if [ -n "$probe" ]; then
		DISPLAY=$DISP "$VNC_CHECK" --port "$PORT" --timeout 30 --encodings "$encs" \
			--probe "$probe" --probes 15 > "$TMP/l.out" 2>&1 &&
			lat=$(sed -n "s/.*latency_ms=\([0-9.-]*\).*/\1/p" "$TMP/l.out") ||
			sed "s/^/  probe: /" "$TMP/l.out" >&2
	fi
	bytes=$(sed -n 's/.* bytes=\([0-9-]*\).*/\1/p' "$TMP/w.out")
	updates=$(sed -n 's/.* updates=\([0-9-]*\).*/\1/p' "$TMP/w.out")
	copies=$(sed -n 's/.* copyrects=\([0-9-]*\).*/\1/p' "$TMP/w.out")
	set -- $cpu
	printf '%-9s %-7s %-5s %8.3f %6.3f-%-6.3f %6.1f %10s %8s %7s %8s\n' "$SERVER" "$name" \
		"$ENC" "$1" "$2" "$3" "$(awk '{print $2 - $1}' "$TMP/wall")" "$bytes" \
		"$updates" "$copies" "$lat" | tee -a "$TMP/table"
}

printf '%-9s %-7s %-5s %8s %-13s %6s %10s %8s %7s %8s\n' server workload enc cpu_s cpu_range \
	wall_s bytes updates copies lat_ms
TEXT="the quick brown fox jumps over the lazy dog 0123456789 "
for SERVER in $SERVERS; do
	start "$SERVER"
	for ENC in $ENCODINGS; do
		# Each round starts as the first: the xterm at 40,40 under the
		# pointer (twm's focus follows it).
		DISPLAY=$DISP xdotool windowmove --sync "$WIN" 40 40 mousemove 300 200 > /dev/null 2>&1 || true
		sleep 0.5
		run connect ":" ""
		run typing "xdotool type --delay 15 '$TEXT$TEXT$TEXT$TEXT'; sleep 0.3" \
			"xdotool type --delay 0 x" "xdotool key ctrl+u; sleep 0.3"
		DISPLAY=$DISP xdotool key ctrl+u
		run scroll "xdotool type --delay 5 'seq 1 3000'; xdotool key Return; sleep 2" \
			"xdotool key Return"
		# The pointer leaves the drag's path first: a window that slides
		# under a pointer at rest takes the focus and gives it back (twm
		# follows the pointer) and changes the cursor shape three times,
		# which a drag by hand, the pointer on the title bar, does not.
		DISPLAY=$DISP xdotool mousemove 1000 700 > /dev/null 2>&1 || true
		run drag "for i in \$(seq 60); do xdotool windowmove $WIN \$((40 + i * 5)) \$((40 + i * 3)); sleep 0.02; done" \
			"xdotool windowmove $WIN \$((\$(date +%s%N) / 1000000 % 2 * 10 + 300)) 220" \
			"xdotool windowmove --sync $WIN 40 40; sleep 0.3"
	done
	run idle "sleep $IDLE" ""
	stop
done
