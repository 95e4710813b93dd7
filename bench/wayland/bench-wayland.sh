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
REPEAT=${REPEAT:-3}
IDLE_S=${IDLE_S:-60}
CHARS=${CHARS:-200}
SEQ=${SEQ:-20000}
STEPS=${STEPS:-60}
FPS=${FPS:-30}
COMPRESS=${COMPRESS:-3}
ENCODINGS=${ENCODINGS:-tight zrle copyrect raw}
SERVERS=${SERVERS:-mirage wayvnc}
for v in REPEAT IDLE_S CHARS SEQ STEPS FPS COMPRESS; do
	eval "val=\$$v"
	case $val in
	'' | *[!0-9]*) echo "bench-wayland: $v=$val: not a whole number" >&2; exit 2 ;;
	esac
done
[ "$REPEAT" -ge 1 ] || { echo "bench-wayland: REPEAT=0: nothing to measure" >&2; exit 2; }
for s in $SERVERS; do
	case $s in
	mirage | wayvnc) ;;
	*) echo "bench-wayland: unknown server $s (mirage, wayvnc)" >&2; exit 2 ;;
	esac
done
export MIRAGE_WAYLAND="$BUILD/src/drivers/wayland/mirage-wayland"
export MIRAGECTL="$BUILD/src/tools/miragectl"
MIRAGE_VNC="$BUILD/src/tools/vnc/mirage-vnc"
VNC_CHECK="$BUILD/tests/vnc/vnc-check"
for f in "$MIRAGE_WAYLAND" "$MIRAGECTL" "$MIRAGE_VNC" "$VNC_CHECK"; do
	[ -x "$f" ] || { echo "bench-wayland: $f not built" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench-wayland: run it as root (sway runs as a user it creates)" >&2; exit 1; }

# lib.sh starts sway and gives as_user, swaymsg_u, $T, $U, $SOCK, PIDS and
# its cleanup (sway, the user, $T); the servers are stopped before it.
WL_NEEDS="wayvnc ss awk"
set +e
MIRAGE_TESTS="$SRC/tests" . "$SRC/tests/wayland/lib.sh"
set -e
B="$T/bench"
mkdir -m 755 "$B"
SRV=""
SRV_PIDS=""
CGROOT=/sys/fs/cgroup/cpuacct
CGS=""
bench_cleanup() {
	trap - EXIT INT TERM
	set +e
	stop_server
	for cg in $CGS; do
		while read -r p; do echo "$p" > "$CGROOT/cgroup.procs" 2> /dev/null || true; done < "$cg/cgroup.procs"
		rmdir "$cg" 2> /dev/null || true
	done
	cleanup
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM

runuser -u "$U" -- test -x "$MIRAGE_VNC" ||
	{ echo "bench-wayland: $U cannot run $MIRAGE_VNC (put the build where others can read it)" >&2; exit 1; }

# CPU accounting: a cgroup per component (sway, mwl = mirage-wayland,
# mvnc = mirage-vnc, wayvnc) where the controller is writable.
CAN_CG=false
if [ -w "$CGROOT" ] && mkdir "$CGROOT/mirage-wlbench.$$" 2> /dev/null; then
	CAN_CG=true
	CGS="$CGROOT/mirage-wlbench.$$"
	for c in sway mwl mvnc wayvnc; do
		mkdir "$CGROOT/mirage-wlbench.$$/$c"
		CGS="$CGROOT/mirage-wlbench.$$/$c $CGS"
	done
fi
# account COMPONENT PID: count PID's CPU as COMPONENT's from now on.
account() {
	if $CAN_CG; then
		echo "$2" > "$CGROOT/mirage-wlbench.$$/$1/cgroup.procs"
	fi
	grep -v "^$1 " "$B/procs" > "$B/procs.new" 2> /dev/null || true
	echo "$1 $2" >> "$B/procs.new"
	mv "$B/procs.new" "$B/procs"
}
# $B/cpu prints "sway=NS mwl=NS mvnc=NS wayvnc=NS" (run from the workloads).
cat > "$B/cpu" <<EOF
#!/bin/sh
HZ=$(getconf CLK_TCK)
for c in sway mwl mvnc wayvnc; do
	if $CAN_CG; then
		v=\$(cat "$CGROOT/mirage-wlbench.$$/\$c/cpuacct.usage")
	else
		p=\$(awk -v c=\$c '\$1 == c {print \$2}' "$B/procs")
		t=\$(awk '{print \$14 + \$15}' "/proc/\$p/stat" 2> /dev/null || echo 0)
		v=\$((t * 1000000000 / HZ))
	fi
	printf '%s=%s ' \$c \$v
done
echo
EOF
: > "$B/procs"
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
chmod 755 "$B/cpu" "$B/term" "$B/sw" "$B/shell.sh"
export PATH="$B:$PATH"

as_user foot --app-id=wlbench sh "$B/shell.sh" > "$T/foot.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	swaymsg -s "$T/xdg/$SOCK" -t get_tree 2> /dev/null | grep -q '"app_id": "wlbench"' && break
	sleep 0.1
done
swaymsg -s "$T/xdg/$SOCK" -t get_tree | grep -q '"app_id": "wlbench"' || fail "foot did not map"
term 'printf "\033[?25l"; echo foot ready' || fail "foot's shell does not answer"

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
NEXT_PORT=${PORT:-5980}
next_port() {
	while ! port_free "$NEXT_PORT"; do
		NEXT_PORT=$((NEXT_PORT + 1))
		[ "$NEXT_PORT" -lt 6200 ] || fail "no free port"
	done
	PORT=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
}
wait_port() {
	for _ in $(seq 200); do
		port_free "$PORT" || return 0
		sleep 0.05
	done
	fail "$SRV: nothing listens on $PORT"
}
# user_pid NAME: the process NAME of the user (not runuser), waited for.
user_pid() {
	for _ in $(seq 100); do
		p=$(pgrep -u "$U" -x "$1" | head -1 || true)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
	done
	fail "no $1 process of $U"
}

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
stop_server() {
	for p in $SRV_PIDS; do kill "$p" 2> /dev/null || true; done
	for p in $SRV_PIDS; do
		for _ in $(seq 100); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
		kill -9 "$p" 2> /dev/null || true
	done
	SRV_PIDS=""
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

# once NAME: one run of workload NAME on $SRV with a new viewer; appends
# the CPU seconds (total sway mwl mvnc wayvnc) to $B/$SRV.NAME.cpus and the
# viewer's figures to .bytes and .updates.
once() {
	out="$B/$SRV.$1"
	sh "$B/prep-$1" > /dev/null 2>&1 || true
	"$VNC_CHECK" --port "$PORT" --timeout 60 --encodings "$ENCODINGS" --compress "$COMPRESS" \
		-- sh -c "sleep 1; cpu > $out.c0; s0=\$(date +%s.%N); sh $B/work-$1; sleep 0.5; cpu > $out.c1; echo \$s0 \$(date +%s.%N) >> $out.wall" \
		> "$out.out" 2>&1 ||
		{ cat "$out.out" >&2; fail "$SRV $1: the viewer failed"; }
	# name=ns pairs of c0 then c1: seconds per component and their sum.
	cat "$out.c0" "$out.c1" | tr ' ' '\n' | awk -F= 'NF == 2 {
		if ($1 in a) d[$1] = ($2 - a[$1]) / 1e9; else a[$1] = $2 }
		END { printf "%.3f %.3f %.3f %.3f %.3f\n", d["sway"] + d["mwl"] + d["mvnc"] + d["wayvnc"],
			d["sway"], d["mwl"], d["mvnc"], d["wayvnc"] }' >> "$out.cpus"
	for k in bytes updates; do
		sed -n "s/.* $k=\([0-9-]*\).*/\1/p" "$out.out" >> "$out.$k"
	done
	if [ "$SRV" = mirage ]; then
		as_user "$CTL_BIN" status wl-HEADLESS-1 > "$out.status" 2>&1 || true
	fi
}

# probe NAME: the median latency of 15 probes on $SRV.
probe() {
	out="$B/$SRV.$1"
	sh "$B/prep-$1" > /dev/null 2>&1 || true
	[ "$1" = scroll ] && term "seq 1 100"
	if "$VNC_CHECK" --port "$PORT" --timeout 60 --encodings "$ENCODINGS" --compress "$COMPRESS" \
		--probe "sh $B/probe-$1" --probes 15 > "$out.l" 2>&1; then
		sed -n "s/.*latency_ms=\([0-9.-]*\).*/\1/p" "$out.l" > "$out.lat"
	else
		sed "s/^/  probe: /" "$out.l" >&2
		echo - > "$out.lat"
	fi
}

WORKLOADS="typing scroll move"
n=$(echo $SERVERS | wc -w)
for r in $(seq "$REPEAT"); do
	set -- $SERVERS
	i=0
	while [ $i -lt $(((r - 1) % n)) ]; do
		set -- "$@" "$1"
		shift
		i=$((i + 1))
	done
	for s in "$@"; do
		echo "$(date +%T) repetition $r: $s" >&2
		start_server "$s"
		for w in $WORKLOADS; do once "$w"; done
		stop_server
	done
done
for s in $SERVERS; do
	echo "$(date +%T) probes and $IDLE_S s idle: $s" >&2
	start_server "$s"
	for w in $WORKLOADS; do probe "$w"; done
	once idle
	stop_server
done

# col FILE N: the median of column N (and with "range" its min-max).
col() {
	awk -v n="$2" '{print $n}' "$1" | sort -n |
		awk -v r="${3:-}" '{v[NR] = $1} END {
			if (!NR) { print "-"; exit }
			if (r) printf "%.3f-%.3f", v[1], v[NR]; else print v[int((NR + 1) / 2)] }'
}
wall() { awk '{s += $2 - $1} END {printf "%.1f", NR ? s / NR : 0}' "$1"; }

echo
echo "headless sway 1280x800 (pixman), foot; viewer: vnc-check, encodings \"$ENCODINGS\", compress $COMPRESS, no JPEG;"
echo "both servers at most $FPS fps; REPEAT=$REPEAT IDLE_S=$IDLE_S CHARS=$CHARS SEQ=$SEQ STEPS=$STEPS;" \
	"CPU: $($CAN_CG && echo "cpuacct cgroups (ns)" || echo "/proc ticks")"
printf '%-7s %-7s %7s %-13s %6s %6s %6s %6s %10s %7s %7s\n' server workload cpu_s cpu_range \
	sway_s mwl_s vnc_s wall_s bytes updates lat_ms
for s in $SERVERS; do
	for w in $WORKLOADS idle; do
		f="$B/$s.$w"
		[ -f "$f.cpus" ] || continue
		if [ "$s" = mirage ]; then vcol=4; else vcol=5; fi
		printf '%-7s %-7s %7.3f %-13s %6.3f %6s %6.3f %6s %10s %7s %7s\n' "$s" "$w" \
			"$(col "$f.cpus" 1)" "$(col "$f.cpus" 1 range)" "$(col "$f.cpus" 2)" \
			"$([ "$s" = mirage ] && printf '%.3f' "$(col "$f.cpus" 3)" || echo -)" \
			"$(col "$f.cpus" $vcol)" "$(wall "$f.wall")" "$(col "$f.bytes" 1)" \
			"$(col "$f.updates" 1)" "$(cat "$f.lat" 2> /dev/null || echo -)"
	done
done
if [ -f "$B/mirage.typing.cpus" ] && [ -f "$B/wayvnc.typing.cpus" ]; then
	echo
	echo "mirage/wayvnc (medians; target <= 0.7, idle CPU 0 for mirage);"
	echo "srv_cpu: the CPU without sway's (capture + VNC server), its seconds"
	printf '%-8s %6s %6s %6s %8s %16s\n' workload cpu bytes lat srv_cpu "srv_s mirage/wayvnc"
	for w in $WORKLOADS idle; do
		for s in mirage wayvnc; do
			awk '{print $3 + $4 + $5}' "$B/$s.$w.cpus" > "$B/$s.$w.srv"
		done
		printf '%-8s %6s %6s %6s %8s %16s\n' "$w" \
			"$(echo "$(col "$B/mirage.$w.cpus" 1) $(col "$B/wayvnc.$w.cpus" 1)" |
				awk '{if ($2 > 0) printf "%.2f", $1 / $2; else print "-"}')" \
			"$(echo "$(col "$B/mirage.$w.bytes" 1) $(col "$B/wayvnc.$w.bytes" 1)" |
				awk '{if ($2 > 0) printf "%.2f", $1 / $2; else print "-"}')" \
			"$(echo "$(cat "$B/mirage.$w.lat" 2> /dev/null || echo -) $(cat "$B/wayvnc.$w.lat" 2> /dev/null || echo -)" |
				awk '{if ($1 != "-" && $2 != "-" && $2 > 0) printf "%.2f", $1 / $2; else print "-"}')" \
			"$(echo "$(col "$B/mirage.$w.srv" 1) $(col "$B/wayvnc.$w.srv" 1)" |
				awk '{if ($2 > 0) printf "%.2f", $1 / $2; else print "-"}')" \
			"$(col "$B/mirage.$w.srv" 1)/$(col "$B/wayvnc.$w.srv" 1)"
	done
fi
if [ -s "$B/mirage.move.status" ]; then
	echo
	echo "mirage-wayland's counters (miragectl status) after each workload of the last"
	echo "repetition, counted from its start (typing, then scroll, then move; idle: after the probes):"
	for w in $WORKLOADS idle; do
		printf '%-7s %s\n' "$w" "$(sed -n 's/^ *\(frames\|compared_pixels\|published_pixels\|blits\|copies\|copy_rejected\)=/\1=/p' \
			"$B/mirage.$w.status" | tr '\n' ' ')"
	done
fi
