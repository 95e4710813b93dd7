#!/bin/sh
# mirage-rec against a full-frame grabber, side by side.
#
#   bench/rec/bench-rec.sh BUILD_DIR [SECONDS] [FPS]
#
# For each workload (typing, scrolling, idle) on a headless X server (Xvfb,
# 1280x720x24) it records SECONDS of the same activity three times:
#   mirage-rec   mirage-x11 (its own process) + mirage-rec record --mirror
#   x264-lossless ffmpeg -f x11grab ... -c:v libx264 -qp 0 -preset ultrafast
#   x264-default  ffmpeg -f x11grab ... -c:v libx264 (crf 23, preset medium)
# all at FPS frames per second, and prints file size per minute and CPU
# seconds (user+system) per minute of recording.  For mirage the CPU column
# is the recorder plus mirage-x11 (the grabber it needs); both are listed.
set -eu
BUILD=${1:?usage: bench-rec.sh BUILD_DIR [SECONDS] [FPS]}
T=${2:-20}
FPS=${3:-30}
REC="$BUILD/src/tools/rec/mirage-rec"
X11="$BUILD/src/drivers/x11/mirage-x11"
SIZE=1280x720
for t in Xvfb xterm ffmpeg /usr/bin/time "$REC" "$X11"; do
	command -v "$t" >/dev/null || { echo "bench-rec: $t is missing" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mirage-rec-bench.XXXXXX")
export MIRAGE_DIR="$TMP/run"
mkdir -m 700 "$MIRAGE_DIR"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

Xvfb -displayfd 5 -screen 0 ${SIZE}x24 -nolisten tcp 5>"$TMP/display" 2>/dev/null &
PIDS="$PIDS $!"
while [ ! -s "$TMP/display" ]; do sleep 0.05; done
export DISPLAY=":$(cat "$TMP/display")"

# The workload runs in an xterm filling the screen.
start_workload() {
	case $1 in
	typing)
		# About 8 characters a second, like a person typing prose.
		cmd='while :; do for w in the quick brown fox jumps over the lazy dog; do printf "%s " $w; sleep 0.5; done; done' ;;
	scrolling)
		# 30 lines a second: a log or compiler output scrolling by.
		cmd='i=0; while :; do echo "line $i: lorem ipsum dolor sit amet, consectetur adipiscing elit $i"; i=$((i+1)); sleep 0.033; done' ;;
	idle)
		cmd='sleep 100000' ;;
	esac
	xterm -geometry 160x48+0+0 -e sh -c "$cmd" &
	WL=$!
	PIDS="$PIDS $WL"
	sleep 1
}
stop_workload() {
	kill $WL 2>/dev/null || true
	wait $WL 2>/dev/null || true
}

# cpu FILE: user+system seconds from /usr/bin/time -f "%U %S".
cpu() { awk '{ s = $1 + $2 } END { printf "%.2f", s }' "$1"; }
per_min() { awk -v v="$1" -v t="$T" 'BEGIN { printf "%.2f", v * 60 / t }'; }
mib_per_min() { awk -v b="$1" -v t="$T" 'BEGIN { printf "%.2f", b * 60 / t / 1048576 }'; }

printf "%-10s %-14s %12s %12s  %s\n" workload recorder "MiB/min" "CPU s/min" detail
for wl in typing scrolling idle; do
	start_workload $wl

	# mirage: mirage-x11 and the recorder, each timed.
	name=bench-$wl
	"$X11" --display "$DISPLAY" --name $name 2>/dev/null &
	XP=$!
	PIDS="$PIDS $XP"
	while [ ! -S "$MIRAGE_DIR/$name.sock" ]; do sleep 0.05; done
	/usr/bin/time -f "%U %S" -o "$TMP/rec.time" "$REC" record --mirror $name -o "$TMP/$wl.mrec" \
		--fps "$FPS" --duration "$T" -q
	# mirage-x11's CPU time from /proc before it is stopped (utime + stime).
	xc=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' /proc/$XP/stat)
	kill -TERM $XP
	wait $XP 2>/dev/null || true
	rc=$(cpu "$TMP/rec.time")
	both=$(awk -v a="$rc" -v b="$xc" 'BEGIN { printf "%.2f", a + b }')
	bytes=$(stat -c %s "$TMP/$wl.mrec")
	printf "%-10s %-14s %12s %12s  recorder %s + mirage-x11 %s CPU s/min\n" $wl mirage-rec \
		"$(mib_per_min "$bytes")" "$(per_min "$both")" "$(per_min "$rc")" "$(per_min "$xc")"

	for mode in lossless default; do
		if [ $mode = lossless ]; then
			enc="-c:v libx264 -qp 0 -preset ultrafast"
			out="$TMP/$wl-lossless.mkv"
		else
			enc="-c:v libx264"
			out="$TMP/$wl-default.mp4"
		fi
		/usr/bin/time -f "%U %S" -o "$TMP/ff.time" ffmpeg -nostdin -v error -y -f x11grab \
			-framerate "$FPS" -video_size $SIZE -draw_mouse 0 -i "$DISPLAY" -t "$T" $enc "$out"
		bytes=$(stat -c %s "$out")
		printf "%-10s %-14s %12s %12s  ffmpeg x11grab %s\n" $wl "x264-$mode" \
			"$(mib_per_min "$bytes")" "$(per_min "$(cpu "$TMP/ff.time")")" "$enc"
	done
	stop_workload
done
echo "($T s per run at $FPS fps on ${SIZE}x24, figures scaled to one minute)"
