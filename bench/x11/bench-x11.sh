#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-x11 against a full-frame grabber, side by side on one scripted
# workload on one Xvfb: CPU seconds and bytes read from the X server by
# each, then the CPU each uses over 30 s of a still screen.
#
#   MIRAGE_X11=.../mirage-x11 X11_CHECK=.../x11-check bench/x11/bench-x11.sh [IDLE_SECONDS]
#
# The grabber is `ffmpeg -f x11grab -framerate 30 ... -f null -` when ffmpeg
# is installed (apt-get install ffmpeg); without it only mirage-x11 is
# measured.  A consumer (x11-check) keeps mirage-x11 attached.
set -u
: "${MIRAGE_X11:?set MIRAGE_X11}"
: "${X11_CHECK:?set X11_CHECK}"
IDLE=${1:-30}
W=1280
H=1024
T=$(mktemp -d /tmp/mirage-x11-bench.XXXXXX)
export MIRAGE_DIR="$T/run"
mkdir -m 700 "$MIRAGE_DIR"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

n=60
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
DPY=$n
export DISPLAY=":$DPY"
Xvfb ":$DPY" -screen 0 ${W}x${H}x24 -nolisten tcp -noreset >"$T/xvfb.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

TCK=$(getconf CLK_TCK)
# CPU seconds (user + system) of a process so far.
cpu() { awk -v t="$TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

XPID=$(tr -d ' ' <"/tmp/.X$DPY-lock")

mkfifo "$T/fifo"
xterm -T benchterm -geometry 100x40+20+20 -e sh -c "while :; do eval \"\$(cat $T/fifo)\"; done" >/dev/null 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do WID=$(xdotool search --name benchterm 2>/dev/null | head -1); [ -n "$WID" ] && break; sleep 0.1; done

# The scripted workload: text output and scrolling, window moves, x11perf.
workload() {
	xdotool windowmove --sync "$WID" 20 20
	echo 'clear; for i in $(seq 600); do echo "line $i: the quick brown fox jumps over the lazy dog"; sleep 0.005; done' >"$T/fifo"
	sleep 5
	for x in $(seq 20 10 400); do xdotool windowmove --sync "$WID" "$x" 60; done
	x11perf -repeat 1 -reps 2000 -rect10 -rect100 -seg10 -ftext -scroll10 -copywinwin10 >/dev/null 2>&1
	echo 'clear; ls -lR /usr/include 2>/dev/null | head -2000' >"$T/fifo"
	sleep 4
}

# run NAME: the workload with grabber $GPID (or none); prints a table row.
run() {
	g0=0; [ -n "$GPID" ] && g0=$(ticks "$GPID")
	x0=$(ticks "$XPID"); t0=$(date +%s.%N)
	workload
	t1=$(date +%s.%N); x1=$(ticks "$XPID")
	g1=0; [ -n "$GPID" ] && g1=$(ticks "$GPID")
	ELAPSED=$(echo "$t1 - $t0" | bc)
	GCPU=$(echo "scale=2; ($g1 - $g0) / $TCK" | bc)
	XCPU=$(echo "scale=2; ($x1 - $x0) / $TCK" | bc)
}

printf "%-30s %8s %10s %10s  %s\n" "" "wall s" "grabber" "X server" "bytes read from the X server"
GPID=""; run
XBASE=$XCPU
printf "%-30s %8.1f %10s %10s  %s\n" "no grabber (baseline)" "$ELAPSED" "-" "$XCPU" "-"

"$MIRAGE_X11" --display ":$DPY" --no-xvfb-shmem >"$T/mirage.log" 2>&1 &
MPID=$!
PIDS="$PIDS $MPID"
for _ in $(seq 50); do [ -S "$MIRAGE_DIR/x11-$DPY.sock" ] && break; sleep 0.1; done
mkfifo "$T/steps"
"$X11_CHECK" steps "x11-$DPY" ":$DPY" <"$T/steps" >"$T/consumer.out" 2>&1 &
CPID=$!
PIDS="$PIDS $CPID"
exec 3>"$T/steps"
sleep 1
GPID=$MPID; run
exec 3>&-
wait $CPID
mb=$(grep -o 'bytes_from_server=[0-9]*' "$T/consumer.out" | cut -d= -f2)
printf "%-30s %8.1f %10s %10s  %s\n" "mirage-x11 (MIT-SHM)" "$ELAPSED" "$GCPU" "$XCPU" "${mb:-?}"
grep -E '^(damage_events|passes|reported_pixels|published_pixels|reported_to_published|copies)=' "$T/consumer.out" | tr '\n' ' '
echo

FF=""
if command -v ffmpeg >/dev/null; then
	ffmpeg -nostdin -hide_banner -f x11grab -framerate 30 -video_size ${W}x${H} \
		-i ":$DPY" -f null - >"$T/ffmpeg.log" 2>&1 &
	FF=$!
	PIDS="$PIDS $FF"
	sleep 1
	GPID=$FF; run
	printf "%-30s %8.1f %10s %10s  %s\n" "ffmpeg x11grab, 30 fps" "$ELAPSED" "$GCPU" "$XCPU" \
		"$(echo "$ELAPSED * 30 * $W * $H * 4" | bc | cut -d. -f1) (30 x ${W}x${H}x4 a second)"
else
	echo "ffmpeg not installed: full-frame grabber not measured (apt-get install ffmpeg)"
fi
echo "(X server column: its CPU seconds during the run; the baseline is the workload alone)"

# Idle: mirage-x11 attached, the screen still.
mkfifo "$T/steps2"
"$X11_CHECK" steps "x11-$DPY" ":$DPY" <"$T/steps2" >/dev/null 2>&1 &
PIDS="$PIDS $!"
exec 4>"$T/steps2"
sleep 2
i0=$(ticks $MPID); j0=0; [ -n "$FF" ] && j0=$(ticks $FF)
sleep "$IDLE"
i1=$(ticks $MPID); j1=0; [ -n "$FF" ] && j1=$(ticks $FF)
echo "idle ${IDLE} s, screen still: mirage-x11 $((i1 - i0)) ticks (1/$TCK s)$([ -n "$FF" ] && echo "; ffmpeg x11grab $((j1 - j0)) ticks")"
exec 4>&-
