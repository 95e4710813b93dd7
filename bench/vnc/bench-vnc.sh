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
# (200 characters), scrolling (seq 1 $SEQ in the xterm, default 3000), a
# 60-step window drag (xdotool windowmove, the pointer out of the way),
# idle ($IDLE seconds, default 60); and "connect": a viewer connecting,
# getting its first full picture and leaving.  Each but idle runs $REPEAT times
# (default 5), each time with a new viewer that is left a second to settle
# before the workload starts.  Per workload: CPU seconds of the server
# side (VNC server + capture + the X server) from the workload's start to
# half a second after its end (connect: the viewer's whole visit), the
# median of the repetitions and their range; the bytes, updates and
# CopyRects the viewer received (medians of the repetitions); and the
# median latency from a draw (an xdotool command's exit)
# to the viewer's next complete update (15 probes).
#
# All the servers run at once, each on its own display and port, and the
# repetitions are interleaved: repetition r of a workload runs on every
# server (in an order rotated by r) before repetition r + 1 starts, so a
# machine whose speed drifts over minutes (a VM) shifts every server's
# figures alike.  The idle minute is measured on all servers together.
# The last tables give each server's median CPU over Xvnc's, the median of
# the repetitions' own ratios (server over Xvnc in the same repetition),
# and in how many repetitions it used less CPU than Xvnc.
#
# The bytes depend on the encoding more than on the server, so typing,
# scrolling and the drag run once per encoding set in ENCODINGS (a new
# viewer each time; lossless, no JPEG):
#   zrle    "copyrect zrle hextile raw" (the tests' viewer)
#   tight   "tight zrle ultra copyrect hextile zlib corre rre raw"
#           (libvncclient's default order)
# The viewer asks for compression level $COMPRESS (default 3, libvncclient's
# own; sent with the tight set only).  TigerVNC takes a level of 0 or 1 as a
# viewer that would rather save CPU than bytes and stops comparing pixels
# for it: its servers then send every redrawn pixel, mirage-vnc still sends
# only what changed.
#
#   bench/vnc/bench-vnc.sh BUILD_DIR [SERVER ...]
# Environment: IDLE (seconds), REPEAT, ENCODINGS (default "zrle tight"), COMPRESS, SEQ, PORT (RFB
# port, default the first free one in 5980-5999), DISPLAYNUM (first
# display, default 90), WORKLOADS (default "connect typing scroll drag
# idle": a subset runs only those, e.g. many repetitions of one).
set -eu

BUILD=${1:?usage: bench-vnc.sh BUILD_DIR [SERVER ...]}
shift
BUILD=$(cd "$BUILD" && pwd)
SERVERS=${*:-embedded x11 x11vnc x0vnc xvnc}
IDLE=${IDLE:-60}
REPEAT=${REPEAT:-5}
ENCODINGS=${ENCODINGS:-zrle tight}
COMPRESS=${COMPRESS:-3}
SEQ=${SEQ:-3000}
case $SEQ in
'' | *[!0-9]*) echo "bench-vnc: SEQ=$SEQ: not a number of lines" >&2; exit 2 ;;
esac
WORKLOADS=${WORKLOADS:-connect typing scroll drag idle}
for w in $WORKLOADS; do
	case $w in
	connect | typing | scroll | drag | idle) ;;
	*) echo "bench-vnc: unknown workload $w (connect typing scroll drag idle)" >&2; exit 2 ;;
	esac
done
# has WORKLOAD: whether WORKLOADS names it.
has() { case " $WORKLOADS " in *" $1 "*) return 0 ;; *) return 1 ;; esac }
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
STOPS=""
CGROOT=/sys/fs/cgroup/cpuacct
CGS=""
cleanup() {
	# The servers first, given time to stop what they started (mirage-vnc
	# --embedded its Xorg), then whatever is left.
	for p in $STOPS; do kill "$p" 2> /dev/null || true; done
	for p in $STOPS; do
		for _ in $(seq 100); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
	done
	for p in $PIDS; do kill "$p" 2> /dev/null || true; done
	sleep 0.5
	for p in $PIDS; do kill -9 "$p" 2> /dev/null || true; done
	rm -rf "$TMP"
	for cg in $CGS; do
		while read -r p; do echo "$p" > "$CGROOT/cgroup.procs" 2> /dev/null || true; done < "$cg/cgroup.procs"
		rmdir "$cg" 2> /dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
# next_port: the first free port from $PORT (or 5980) not given out yet.
NEXT_PORT=${PORT:-5980}
next_port() {
	while ! port_free "$NEXT_PORT"; do
		NEXT_PORT=$((NEXT_PORT + 1))
		[ "$NEXT_PORT" -lt 6100 ] || { echo "bench-vnc: no free port" >&2; exit 1; }
	done
	PORT=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
}
NEXT_D=${DISPLAYNUM:-90}
next_display() {
	while [ -e "/tmp/.X11-unix/X$NEXT_D" ] || [ -e "/tmp/.X$NEXT_D-lock" ]; do
		NEXT_D=$((NEXT_D + 1))
	done
	D=$NEXT_D
	NEXT_D=$((NEXT_D + 1))
}

# CPU time of the server side.  Where the cpuacct cgroup controller is
# writable (root), each server's processes are moved into a cgroup of their
# own and its nanosecond counter is read, which also counts threads that
# ended (a VNC server's per-viewer threads); otherwise the 10 ms ticks of
# /proc/PID/stat are summed.
HZ=$(getconf CLK_TCK)
CAN_CG=false
if [ -w "$CGROOT" ] && mkdir "$CGROOT/mirage-bench.$$" 2> /dev/null; then
	rmdir "$CGROOT/mirage-bench.$$"
	CAN_CG=true
fi
# cpu_ns PID...: nanoseconds of CPU (user + system) so far, of $CG or of
# the PIDs.  (Its text is also written into each server's cpu.sh, for the
# workloads: keep it self-contained.)
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

# session DISPLAY: twm and an xterm (for the servers we do not start it
# for), twm set up as mirage-vnc --embedded sets it up: its default fonts
# (Helvetica) are in no package we need, and without them it exits at once.
printf '%s\n' 'TitleFont "fixed"' 'ResizeFont "fixed"' 'MenuFont "fixed"' \
	'IconFont "fixed"' 'IconManagerFont "fixed"' RandomPlacement \
	'UsePPosition "on"' NoGrabServer DecorateTransients OpaqueMove > "$TMP/twmrc"
session() {
	DISPLAY=$1 twm -f "$TMP/twmrc" > /dev/null 2>&1 &
	PIDS="$PIDS $!"
	DISPLAY=$1 xterm -fn fixed -geometry 80x24+40+40 > /dev/null 2>&1 &
	PIDS="$PIDS $!"
}

xvfb() {
	next_display
	Xvfb ":$D" -screen 0 1024x768x24 -nolisten tcp > /dev/null 2>&1 &
	XPID=$!
	PIDS="$PIDS $XPID"
	wait_x ":$D"
	session ":$D"
	DISP=":$D"
}

# start SERVER: starts it on a new display and port, and writes what the
# workloads need of it (DISP PORT CG SRV_PIDS WIN) into
# $TMP/SERVER/env; use SERVER reads it back.
start() {
	next_port
	LOG="$TMP/$1/srv.log"
	mkdir "$TMP/$1"
	case $1 in
	embedded)
		"$MIRAGE_VNC" --embedded --geometry 1024x768 --listen "127.0.0.1:$PORT" --http-port 0 -v \
			> "$LOG" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		# The port listens a moment before the display is logged.
		DISP=""
		for _ in $(seq 100); do
			DISP=$(sed -n 's/^mirage-vnc: input into //p' "$LOG")
			[ -n "$DISP" ] && break
			sleep 0.05
		done
		# Xorg's message bus (a dbus-daemon of mirage-vnc's) counts as ours.
		SRV_PIDS="$VPID $(pgrep -P "$VPID" -x Xorg || true) $(pgrep -P "$VPID" -x dbus-daemon || true)"
		STOP_PIDS=$VPID
		;;
	x11)
		xvfb
		"$MIRAGE_VNC" --display "$DISP" --listen "127.0.0.1:$PORT" --http-port 0 \
			> "$LOG" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		SRV_PIDS="$VPID $(pgrep -P "$VPID" mirage-x11 || true) $XPID"
		STOP_PIDS="$VPID $XPID"
		;;
	x11vnc)
		xvfb
		x11vnc -display "$DISP" -rfbport "$PORT" -localhost -nopw -forever -shared -quiet \
			> "$LOG" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		SRV_PIDS="$VPID $XPID"
		STOP_PIDS="$VPID $XPID"
		;;
	x0vnc)
		xvfb
		# The server itself, not the x0vncserver wrapper (which forks it
		# away from the CPU accounting).
		X0tigervnc -display "$DISP" -rfbport "$PORT" -localhost=1 -SecurityTypes None \
			> "$LOG" 2>&1 &
		VPID=$!
		PIDS="$PIDS $VPID"
		wait_port
		SRV_PIDS="$VPID $XPID"
		STOP_PIDS="$VPID $XPID"
		;;
	xvnc)
		next_display
		Xvnc ":$D" -geometry 1024x768 -depth 24 -rfbport "$PORT" -localhost=1 \
			-SecurityTypes None -nolisten tcp > "$LOG" 2>&1 &
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
	STOPS="$STOPS $STOP_PIDS"
	CG=""
	if $CAN_CG; then
		CG="$CGROOT/mirage-bench.$$.$1"
		mkdir "$CG"
		CGS="$CGS $CG"
		for p in $SRV_PIDS; do echo "$p" > "$CG/cgroup.procs" 2> /dev/null || true; done
	fi
	# The same reading from inside a workload (vnc-check runs it).
	{
		echo "CG='$CG' HZ=$HZ"
		declare_cpu_ns
		echo "cpu_ns $SRV_PIDS"
	} > "$TMP/$1/cpu.sh"
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
	echo "DISP='$DISP' PORT=$PORT CG='$CG' SRV_PIDS='$SRV_PIDS' WIN=$WIN" \
		> "$TMP/$1/env"
}

use() {
	SERVER=$1
	. "$TMP/$1/env"
}

# The workloads.  $WIN is the server's xterm, given at run time.
TEXT="the quick brown fox jumps over the lazy dog 0123456789 "
# Each round starts as the first: the xterm at 40,40 under the pointer
# (twm's focus follows it).
HOME_XTERM='xdotool windowmove --sync $WIN 40 40 mousemove 300 200; sleep 0.3'
TYPING="xdotool type --delay 15 '$TEXT$TEXT$TEXT$TEXT'; sleep 0.3"
TYPING_PREP="$HOME_XTERM; xdotool key ctrl+u; sleep 0.3"
SCROLL="xdotool type --delay 5 'seq 1 $SEQ'; xdotool key Return; sleep 2"
SCROLL_PREP="$HOME_XTERM; xdotool key ctrl+u; sleep 0.3"
# The pointer leaves the drag's path first: a window that slides under a
# pointer at rest takes the focus and gives it back (twm follows the
# pointer) and changes the cursor shape three times, which a drag by hand,
# the pointer on the title bar, does not.
DRAG='for i in $(seq 60); do xdotool windowmove $WIN $((40 + i * 5)) $((40 + i * 3)); sleep 0.02; done'
DRAG_PREP='xdotool windowmove --sync $WIN 40 40 mousemove 1000 700; sleep 0.3'

encodings() {
	case $1 in
	zrle) echo "copyrect zrle hextile raw" ;;
	*) echo "tight zrle ultra copyrect hextile zlib corre rre raw" ;;
	esac
}

# once SERVER ENC NAME WORK PREP: one repetition of a workload on a
# server with a new viewer; appends its CPU seconds to
# $TMP/SERVER/ENC.NAME.cpus, and the viewer's bytes, updates and CopyRects
# to ENC.NAME.{bytes,updates,copyrects}.  "connect" (no
# workload) is read from before the viewer starts to after it left.
once() {
	use "$1"
	enc=$2 name=$3 work=$4 prep=$5
	out="$TMP/$SERVER/$enc.$name"
	DISPLAY=$DISP WIN=$WIN sh -c "$prep" > /dev/null 2>&1 || true
	t0=$(cpu_ns $SRV_PIDS)
	DISPLAY=$DISP WIN=$WIN "$VNC_CHECK" --port "$PORT" --timeout 30 \
		--encodings "$(encodings "$enc")" --compress "$COMPRESS" -- sh -c \
		"sleep 1; s0=\$(date +%s.%N); sh $TMP/$SERVER/cpu.sh > $out.c0; $work; sleep 0.5; sh $TMP/$SERVER/cpu.sh > $out.c1; echo \$s0 \$(date +%s.%N) > $out.wall" \
		> "$out.out" 2>&1 ||
		{ cat "$out.out" >&2; echo "bench-vnc: $SERVER $name failed" >&2; exit 1; }
	t1=$(cpu_ns $SRV_PIDS)
	if [ "$name" = connect ]; then
		echo "$t0 $t1"
	else
		echo "$(cat "$out.c0") $(cat "$out.c1")"
	fi | awk '{print ($2 - $1) / 1e9}' >> "$out.cpus"
	for k in bytes updates copyrects; do
		sed -n "s/.* $k=\([0-9-]*\).*/\1/p" "$out.out" >> "$out.$k"
	done
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
	sort -n "$1" | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "-"}'
}

# probe SERVER ENC NAME PROBE: the median latency of 15 probes.
probe() {
	use "$1"
	out="$TMP/$SERVER/$2.$3"
	echo - > "$out.lat"
	[ -n "$4" ] || return 0
	if DISPLAY=$DISP WIN=$WIN "$VNC_CHECK" --port "$PORT" --timeout 30 \
		--encodings "$(encodings "$2")" --compress "$COMPRESS" --probe "$4" --probes 15 \
		> "$out.l" 2>&1; then
		sed -n "s/.*latency_ms=\([0-9.-]*\).*/\1/p" "$out.l" > "$out.lat"
	else
		sed "s/^/  probe: /" "$out.l" >&2
	fi
}

# row SERVER ENC NAME: one line of the table.
row() {
	out="$TMP/$1/$2.$3"
	cpu=$(sort -n "$out.cpus" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)], v[1], v[NR]}')
	set -- "$1" "$2" "$3" $cpu
	printf '%-9s %-7s %-5s %8.3f %6.3f-%-6.3f %6.1f %10s %8s %7s %8s\n' "$1" "$3" "$2" \
		"$4" "$5" "$6" "$(awk '{print $2 - $1}' "$out.wall")" \
		"$(median "$out.bytes")" "$(median "$out.updates")" "$(median "$out.copyrects")" \
		"$(cat "$out.lat" 2> /dev/null || echo -)"
}

# workload ENC NAME WORK PREP PROBE: $REPEAT interleaved repetitions on
# every server, then the latency probes.
workload() {
	enc=$1 name=$2 work=$3 prep=$4 pr=$5
	n=$(echo $SERVERS | wc -w)
	for r in $(seq "$REPEAT"); do
		# rotate the order: each server goes first as often as the others
		set -- $SERVERS
		i=0
		while [ $i -lt $(((r - 1) % n)) ]; do
			set -- "$@" "$1"
			shift
			i=$((i + 1))
		done
		for srv in "$@"; do
			once "$srv" "$enc" "$name" "$work" "$prep"
		done
	done
	for srv in $SERVERS; do
		probe "$srv" "$enc" "$name" "$pr"
	done
}

for SERVER in $SERVERS; do
	start "$SERVER"
done
sleep 1
for ENC in $ENCODINGS; do
	! has connect || workload "$ENC" connect ":" "$HOME_XTERM" ""
	! has typing || workload "$ENC" typing "$TYPING" "$TYPING_PREP" "xdotool type --delay 0 x"
	! has scroll || workload "$ENC" scroll "$SCROLL" "$SCROLL_PREP" "xdotool key Return"
	! has drag || workload "$ENC" drag "$DRAG" "$DRAG_PREP" \
		'xdotool windowmove $WIN $(($(date +%s%N) / 1000000 % 2 * 10 + 300)) 220'
done
# The idle minute: one viewer on every server, all at once.
ENC=$(echo $ENCODINGS | awk '{print $NF}')
if has idle; then
	IPIDS=""
	for srv in $SERVERS; do
		once "$srv" "$ENC" idle "sleep $IDLE" "$HOME_XTERM" &
		IPIDS="$IPIDS $!"
	done
	for p in $IPIDS; do wait "$p" || exit 1; done
fi

printf '%-9s %-7s %-5s %8s %-13s %6s %10s %8s %7s %8s\n' server workload enc cpu_s cpu_range \
	wall_s bytes updates copies lat_ms
for srv in $SERVERS; do
	for ENC in $ENCODINGS; do
		for name in connect typing scroll drag; do
			! has "$name" || row "$srv" "$ENC" "$name"
		done
	done
	! has idle || row "$srv" "$ENC" idle
done
# table HEADER CELL: a line per server but Xvnc and encoding, a column per
# workload, each cell printed by CELL SERVER ENC WORKLOAD.
table() {
	echo
	printf '%-9s %-5s' "$1" enc
	for name in $NAMES; do printf ' %7s' "$name"; done
	echo
	for srv in $SERVERS; do
		[ "$srv" = xvnc ] && continue
		for ENC in $ENCODINGS; do
			printf '%-9s %-5s' "$srv" "$ENC"
			for name in $NAMES; do
				printf ' %7s' "$("$2" "$srv" "$ENC" "$name")"
			done
			echo
		done
	done
}
# Median CPU over Xvnc's.
ratio() {
	echo "$(median "$TMP/$1/$2.$3.cpus") $(median "$TMP/xvnc/$2.$3.cpus")" |
		awk '{if ($2 > 0) printf "%.2f", $1 / $2; else print "-"}'
}
# The repetitions in which the server used less CPU than Xvnc: repetition r
# ran on every server within seconds, so the pair saw the same machine.
below() {
	paste "$TMP/$1/$2.$3.cpus" "$TMP/xvnc/$2.$3.cpus" |
		awk '$1 < $2 {k++} END {printf "%d/%d", k, NR}'
}
# The median of the repetitions' own ratios (server over Xvnc in the same
# repetition): less moved by a slow minute of the machine than the ratio of
# the medians.
paired() {
	paste "$TMP/$1/$2.$3.cpus" "$TMP/xvnc/$2.$3.cpus" |
		awk '$2 > 0 {print $1 / $2}' > "$TMP/paired"
	median "$TMP/paired" | awk '{if ($1 == "-") print; else printf "%.2f", $1}'
}
NAMES=""
for name in connect typing scroll drag; do
	! has "$name" || NAMES="$NAMES $name"
done
case " $SERVERS " in
*" xvnc "*)
	if [ -n "$NAMES" ]; then
		table cpu/xvnc ratio
		table paired paired
		table "<xvnc" below
	fi
	;;
esac
