#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-x11 against a full-frame grabber, side by side in one run on one
# Xvfb (1280x1024x24, started with -shmem): for each scripted workload --
# typing in an xterm, xterm scrolling, a window drag, an x11perf subset --
# the CPU seconds of the grabber and of the X server and the bytes read
# from the X server; then the CPU each grabber uses over IDLE_SECONDS of a
# still screen.
#
#   MIRAGE_X11=.../mirage-x11 X11_CHECK=.../x11-check bench/x11/bench-x11.sh [IDLE_SECONDS]
#
# Grabbers, one after the other on the same workloads:
#   none                   the workload alone (the X server's own cost)
#   mirage-x11 MIT-SHM     mirage-x11 --no-xvfb-shmem
#   mirage-x11 xvfb-shmem  mirage-x11 reading Xvfb's framebuffer segment
#   ffmpeg x11grab 30 fps  `ffmpeg -f x11grab -framerate 30 ... -f null -`
#                          (when ffmpeg is installed: apt-get install ffmpeg)
# A consumer (x11-check steps) keeps mirage-x11 attached.  mirage-x11's
# bytes come from its own statistics (bytes_from_server); ffmpeg's are
# frames x 1280 x 1024 x 4.
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
	exec 3>&- 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

n=60
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
[ "$n" -le 79 ] || { echo "no free display in :60-:79"; exit 1; }
DPY=$n
export DISPLAY=":$DPY"
Xvfb ":$DPY" -screen 0 ${W}x${H}x24 -shmem -nolisten tcp -noreset >"$T/xvfb.log" 2>&1 &
XPID=$!
PIDS="$PIDS $XPID"
for _ in $(seq 100); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

TCK=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
secs() { echo "scale=2; $1 / $TCK" | bc | sed 's/^\./0./'; }

mkfifo "$T/fifo"
xterm -T benchterm -geometry 100x40+20+20 -e sh -c "while :; do eval \"\$(cat $T/fifo)\"; done" >/dev/null 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do WID=$(xdotool search --name benchterm 2>/dev/null | head -1); [ -n "$WID" ] && break; sleep 0.1; done
[ -n "$WID" ] || { echo "xterm did not map"; exit 1; }

# The workloads.  Typing goes to the xterm under the pointer (Xvfb's focus
# is PointerRoot) and is echoed by its tty.
w_typing() {
	xdotool windowmove --sync "$WID" 20 20 mousemove 300 200
	echo 'clear' >"$T/fifo"; sleep 0.3
	xdotool type --delay 40 "typing like a person at a terminal: ls -l /usr/share/doc | less"
	sleep 0.3
}
w_scroll() {
	echo 'for i in $(seq 600); do echo "line $i: the quick brown fox jumps over the lazy dog"; sleep 0.005; done' >"$T/fifo"
	sleep 5
}
w_drag() {
	xdotool mousemove 1200 1000
	for x in $(seq 20 10 400); do xdotool windowmove --sync "$WID" "$x" 60; done
	for x in $(seq 400 -10 20); do xdotool windowmove --sync "$WID" "$x" 20; done
	sleep 0.3
}
w_x11perf() {
	x11perf -repeat 1 -reps 2000 -rect10 -rect100 -seg10 -ftext -scroll10 -copywinwin10 >/dev/null 2>&1
	sleep 0.3
}
WORKLOADS="typing scroll drag x11perf"

# bytes_now KIND: bytes read from the X server so far by the current grabber.
bytes_now() {
	case "$1" in
	mirage) "$X11_CHECK" info "x11-$DPY" 2>/dev/null | sed -n 's/^bytes_from_server=//p' ;;
	ffmpeg) f=$(grep -o '^frame=[0-9]*' "$T/ffprog" 2>/dev/null | tail -1 | cut -d= -f2)
		echo $(( ${f:-0} * W * H * 4 )) ;;
	*) echo 0 ;;
	esac
}

# run_all KIND PID: every workload; fills R_<workload>_<field>.
run_all() {
	for wl in $WORKLOADS; do
		g0=0; [ -n "$2" ] && g0=$(ticks "$2")
		b0=$(bytes_now "$1"); x0=$(ticks "$XPID"); t0=$(date +%s.%N)
		"w_$wl"
		t1=$(date +%s.%N); x1=$(ticks "$XPID"); b1=$(bytes_now "$1")
		g1=0; [ -n "$2" ] && g1=$(ticks "$2")
		eval "R_${wl}_$1_wall=\$(echo \"\$t1 - \$t0\" | bc)"
		eval "R_${wl}_$1_g=$((g1 - g0))"
		eval "R_${wl}_$1_x=$((x1 - x0))"
		eval "R_${wl}_$1_b=$((b1 - b0))"
	done
}

start_mirage() {
	"$MIRAGE_X11" --display ":$DPY" "$@" >"$T/mirage.log" 2>&1 &
	MPID=$!
	PIDS="$PIDS $MPID"
	for _ in $(seq 50); do [ -S "$MIRAGE_DIR/x11-$DPY.sock" ] && break; sleep 0.1; done
	rm -f "$T/steps"; mkfifo "$T/steps"
	"$X11_CHECK" steps "x11-$DPY" ":$DPY" <"$T/steps" >"$T/consumer.out" 2>&1 &
	CPID=$!
	PIDS="$PIDS $CPID"
	exec 3>"$T/steps"
	sleep 1
}
stop_mirage() {
	exec 3>&-
	wait "$CPID"
	kill "$MPID"; wait "$MPID" 2>/dev/null
}

run_all none ""
start_mirage --no-xvfb-shmem
run_all mirage "$MPID"
STATS_SHM=$("$X11_CHECK" info "x11-$DPY" | grep -E '^(passes|grab_requests|reported_to_published|copies)=' | tr '\n' ' ')
stop_mirage
for wl in $WORKLOADS; do for f in wall g x b; do eval "R_${wl}_shm_$f=\$R_${wl}_mirage_$f"; done; done
start_mirage
SRC=$("$X11_CHECK" info "x11-$DPY" | sed -n 's/^pixel_source=//p')
run_all mirage "$MPID"
STATS_XVFB=$("$X11_CHECK" info "x11-$DPY" | grep -E '^(passes|grab_requests|reported_to_published|copies)=' | tr '\n' ' ')
MPID_IDLE=$MPID

FF=""
if command -v ffmpeg >/dev/null; then
	# -progress: frames actually grabbed, for the byte count.
	ffmpeg -nostdin -hide_banner -loglevel error -progress "$T/ffprog" -stats_period 0.1 \
		-f x11grab -framerate 30 -video_size ${W}x${H} -i ":$DPY" -f null - >"$T/ffmpeg.log" 2>&1 &
	FF=$!
	PIDS="$PIDS $FF"
	sleep 1
	run_all ffmpeg "$FF"
fi

row() { # workload kind
	eval "g=\$R_$1_$2_g x=\$R_$1_$2_x b=\$R_$1_$2_b"
	printf " %6s %6s %7s" "$(secs "$g")" "$(secs "$x")" "$(echo "$b" | awk '{ printf "%.1f", $1 / 1e6 }')"
}
echo "Xvfb ${W}x${H}x24 -shmem; CPU seconds (user+system) of the grabber (cpu) and of the X server (X);"
echo "MB read from the X server.  mirage-x11 SHM: --no-xvfb-shmem; mirage-x11 fb: pixel source $SRC."
printf "%-9s %5s %6s | %-21s | %-21s | %-21s\n" "" "wall" "X" "mirage-x11 SHM" "mirage-x11 fb" "ffmpeg x11grab 30fps"
printf "%-9s %5s %6s |%6s %6s %7s |%6s %6s %7s |%6s %6s %7s\n" workload s alone cpu X MB cpu X MB cpu X MB
tg=0; tx=0
for wl in $WORKLOADS; do
	eval "wall=\$R_${wl}_none_wall x=\$R_${wl}_none_x"
	printf "%-9s %5.1f %6s |" "$wl" "$wall" "$(secs "$x")"
	row "$wl" shm; printf " |"; row "$wl" mirage; printf " |"
	if [ -n "$FF" ]; then row "$wl" ffmpeg; else printf " %6s %6s %7s" - - -; fi
	echo
done
for k in none shm mirage ffmpeg; do
	sg=0; sx=0; sb=0
	for wl in $WORKLOADS; do
		eval "sg=\$((sg + \${R_${wl}_${k}_g:-0})) sx=\$((sx + \${R_${wl}_${k}_x:-0})) sb=\$((sb + \${R_${wl}_${k}_b:-0}))"
	done
	eval "T_${k}_g=$sg T_${k}_x=$sx T_${k}_b=$sb"
done
printf "%-9s %5s %6s |" total "" "$(secs "$T_none_x")"
for k in shm mirage ffmpeg; do
	eval "g=\$T_${k}_g x=\$T_${k}_x b=\$T_${k}_b"
	printf " %6s %6s %7s |" "$(secs "$g")" "$(secs "$x")" "$(echo "$b" | awk '{ printf "%.1f", $1 / 1e6 }')"
done
echo
echo "mirage-x11 SHM: $STATS_SHM"
echo "mirage-x11 fb:  $STATS_XVFB"
[ -n "$FF" ] || echo "ffmpeg not installed: full-frame grabber not measured (apt-get install ffmpeg)"

# Idle: mirage-x11 (attached) and ffmpeg both running, the screen still.
xdotool mousemove 1200 1000
sleep 2
i0=$(ticks "$MPID_IDLE"); j0=0; [ -n "$FF" ] && j0=$(ticks "$FF")
sleep "$IDLE"
i1=$(ticks "$MPID_IDLE"); j1=0; [ -n "$FF" ] && j1=$(ticks "$FF")
echo "idle ${IDLE} s, screen still: mirage-x11 $((i1 - i0)) ticks (1/$TCK s)$([ -n "$FF" ] && echo "; ffmpeg x11grab $((j1 - j0)) ticks")"
