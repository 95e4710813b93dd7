#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage (mirage-wayland + mirage-vnc --mirror) against wayvnc on the same
# headless sway (1280x800, pixman renderer, tests/wayland/lib.sh: run as
# root, sway runs as a throwaway user) with one foot, on the same scripted
# workloads, one libvncclient viewer (tests/vnc/vnc-check) each:
#
#   typing   a loop in foot's shell prints $CHARS characters (default 200),
#            one every 15 ms
#   scroll   seq 1 $SEQ (default 20000) in foot
#   move     foot floating at 640x400, moved $STEPS times (default 60) by
#            swaymsg "move position", 20 ms apart
#   idle     $IDLE_S seconds (default 60) of a still screen, a viewer on
#
# The servers never run at once (a second screencopy client would cost
# sway frames for the other): repetition r ($REPEAT, default 3) starts
# each server in turn (the order rotated by r), runs typing, scroll and
# move with a new viewer each, and stops it.  Then, per server, the
# latency probes and the idle period.
#
# Per workload and server: CPU seconds of sway + capture + server (mirage:
# sway + mirage-wayland + mirage-vnc; wayvnc: sway + wayvnc) from the
# workload's start to half a second after its end, the median of the
# repetitions and their range, and that CPU split into sway, the capture
# (mirage-wayland) and the VNC server; the bytes and updates the viewer
# received (medians); the median latency of 15 probes from a draw (a
# character printed through foot's command FIFO, a line scrolled, a
# swaymsg move) to the viewer's next complete update.  CPU comes from a
# cpuacct cgroup per process where it is writable (nanoseconds, threads
# that ended included), else from /proc/PID/stat (10 ms ticks).
#
# The viewer asks for "$ENCODINGS" (default "tight zrle copyrect raw",
# lossless: vnc-check turns JPEG off) at compression level $COMPRESS
# (default 3); both servers are capped at $FPS updates a second (default
# 30, wayvnc's own default; mirage-vnc's is 60).
#
# mirage is `mirage-vnc --wayland` (which starts mirage-wayland itself,
# capturing at most $FPS frames a second too); with MIRAGE_VNC_WAYLAND=0
# the two processes are started apart (mirage-wayland --max-fps $FPS, then
# mirage-vnc --mirror).
#
#   flock /tmp/mirage-x.lock bench/wayland/bench-wayland.sh BUILD_DIR
# Environment: REPEAT, IDLE_S, CHARS, SEQ, STEPS, FPS, COMPRESS, ENCODINGS,
# SERVERS (default "mirage wayvnc"), PORT (first RFB port tried, default
# 5980; free ones are picked).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${1:?usage: bench-wayland.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
BENCH=bench-wayland COMP=sway PEER=wayvnc
. "$HERE/lib.sh"
bench_args REPEAT IDLE_S CHARS SEQ STEPS FPS COMPRESS
export MIRAGE_WAYLAND="$BUILD/src/drivers/wayland/mirage-wayland"
export MIRAGECTL="$BUILD/src/tools/miragectl"
MIRAGE_VNC="$BUILD/src/tools/vnc/mirage-vnc"
VNC_CHECK="$BUILD/tests/vnc/vnc-check"
for f in "$MIRAGE_WAYLAND" "$MIRAGECTL" "$MIRAGE_VNC" "$VNC_CHECK"; do
	[ -x "$f" ] || { echo "bench-wayland: $f not built" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench-wayland: run it as root (sway runs as a user it creates)" >&2; exit 1; }

# The tests' lib.sh starts sway and gives as_user, swaymsg_u, $T, $U,
# $SOCK, PIDS, $MIRROR and its cleanup (sway, the user, $T); bench/wayland/
# lib.sh's stops the servers before it.
WL_NEEDS="wayvnc ss awk"
set +e
MIRAGE_TESTS="$SRC/tests" . "$SRC/tests/wayland/lib.sh"
set -e
B="$T/bench"
bench_start

runuser -u "$U" -- test -x "$MIRAGE_VNC" ||
	{ echo "bench-wayland: $U cannot run $MIRAGE_VNC (put the build where others can read it)" >&2; exit 1; }

account sway "$(cat "$T/home/sway.pid")"

# foot runs a shell that takes one command a line from $B/cmd and answers
# on $B/done once it ran: $B/term CMD runs CMD in foot and waits for it.
mkfifo "$B/cmd" "$B/done"
chown "$U:" "$B/cmd" "$B/done"
cat > "$B/shell.sh" <<EOF
while :; do
	IFS= read -r line < "$B/cmd" || continue
	eval "\$line"
	echo ok > "$B/done"
done
EOF
cat > "$B/term" <<EOF
#!/bin/sh
printf '%s\n' "\$*" > "$B/cmd"
cat "$B/done" > /dev/null
EOF
# swaymsg as root straight to sway's socket: no runuser in the latency.
cat > "$B/sw" <<EOF
#!/bin/sh
exec swaymsg -s "$T/xdg/$SOCK" "\$@" > /dev/null
EOF
chmod 755 "$B/term" "$B/sw" "$B/shell.sh"
export PATH="$B:$PATH"

as_user foot --app-id=wlbench sh "$B/shell.sh" > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	swaymsg -s "$T/xdg/$SOCK" -t get_tree 2> /dev/null | grep -q '"app_id": "wlbench"' && break
	sleep 0.1
done
swaymsg -s "$T/xdg/$SOCK" -t get_tree | grep -q '"app_id": "wlbench"' || fail "foot did not map"
term 'printf "\033[?25l"; echo foot ready' || fail "foot's shell does not answer"

# start_server SERVER: starts it on a free port; stop_server stops it.
start_server() {
	SRV=$1
	next_port
	case $1 in
	mirage)
		if [ "${MIRAGE_VNC_WAYLAND:-1}" = 1 ]; then
			as_user "$MIRAGE_VNC" --wayland --listen "127.0.0.1:$PORT" --http-port 0 \
				--max-fps "$FPS" > "$B/mirage-vnc.log" 2>&1 &
			SRV_PIDS="$!"
		else
			as_user "$WL_BIN" --max-fps "$FPS" > "$B/mirage-wayland.log" 2>&1 &
			SRV_PIDS="$!"
			for _ in $(seq 100); do
				as_user "$CTL_BIN" list --no-header 2> /dev/null | grep -q '^wl-HEADLESS-1' && break
				sleep 0.1
			done
			as_user "$MIRAGE_VNC" --mirror wl-HEADLESS-1 --listen "127.0.0.1:$PORT" \
				--http-port 0 --max-fps "$FPS" > "$B/mirage-vnc.log" 2>&1 &
			SRV_PIDS="$SRV_PIDS $!"
		fi
		wait_port
		account mvnc "$(user_pid mirage-vnc)"
		account mwl "$(user_pid mirage-wayland)"
		REAL_PIDS="$(user_pid mirage-vnc) $(user_pid mirage-wayland)"
		;;
	wayvnc)
		as_user wayvnc --max-fps="$FPS" 127.0.0.1 "$PORT" > "$B/wayvnc.log" 2>&1 &
		SRV_PIDS="$!"
		wait_port
		account wayvnc "$(user_pid wayvnc)"
		REAL_PIDS=$(user_pid wayvnc)
		;;
	esac
	SRV_PIDS="$REAL_PIDS $SRV_PIDS"
	sleep 0.5
}
# The workloads, prepared (foot placed, screen cleared) before the viewer
# connects; each is a script file so that vnc-check's sh -c can run it.
cat > "$B/prep-typing" <<'EOF'
sw '[app_id=wlbench] floating disable'; term clear; sleep 0.3
EOF
cat > "$B/work-typing" <<EOF
term 'i=0; while [ \$i -lt $CHARS ]; do printf %s \$((i % 10)); sleep 0.015; i=\$((i + 1)); done'
EOF
cat > "$B/probe-typing" <<'EOF'
term 'printf y'
EOF
cp "$B/prep-typing" "$B/prep-scroll"
cat > "$B/work-scroll" <<EOF
term 'seq 1 $SEQ'
EOF
echo 'term echo' > "$B/probe-scroll"
echo 'term "seq 1 100"' > "$B/probe-prep-scroll"
cat > "$B/prep-move" <<'EOF'
sw '[app_id=wlbench] floating enable, resize set 640 400, move position 40 40'; sleep 0.3
EOF
cat > "$B/work-move" <<EOF
i=1
while [ \$i -le $STEPS ]; do
	sw "[app_id=wlbench] move position \$((40 + i * 8)) \$((40 + i * 5))"
	sleep 0.02
	i=\$((i + 1))
done
EOF
cat > "$B/probe-move" <<'EOF'
sw "[app_id=wlbench] move position $(($(date +%s%N) / 1000000 % 2 * 10 + 300)) 220"
EOF
cp "$B/prep-typing" "$B/prep-idle"
echo "sleep $IDLE_S" > "$B/work-idle"

WORKLOADS="typing scroll move"
run_workloads

echo
echo "headless sway 1280x800 (pixman), foot; viewer: vnc-check, encodings \"$ENCODINGS\", compress $COMPRESS, no JPEG;"
echo "both servers at most $FPS fps; REPEAT=$REPEAT IDLE_S=$IDLE_S CHARS=$CHARS SEQ=$SEQ STEPS=$STEPS;" \
	"CPU: $($CAN_CG && echo "cpuacct cgroups (ns)" || echo "/proc ticks")"
report "target <= 0.7, idle CPU 0 for mirage"
