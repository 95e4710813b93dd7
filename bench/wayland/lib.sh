# SPDX-License-Identifier: MIT
# Sourced by the Wayland benchmarks (bench-wayland.sh on sway, bench-gnome.sh
# on mutter) after the tests' compositor harness (as_user, fail, U, T,
# CTL_BIN, cleanup): mirage against one peer VNC server on the same
# compositor, one server at a time, one libvncclient viewer per workload.
# Set before sourcing:
#   BENCH      the script's name, for messages
#   COMP       the compositor's component name (sway, mutter)
#   PEER       the peer server's name (wayvnc, fullvnc)
#   B          the bench's directory (created here, readable by the user)
#   VNC_CHECK ENCODINGS COMPRESS MIRROR
# Source it early (it sets the common defaults, bench_args checks them), call bench_start
# once the compositor runs, and define start_server SERVER (a free port in PORT, the
# processes accounted, their PIDs in SRV_PIDS) and the workload scripts
# $B/prep-W, $B/work-W and $B/probe-W.  Gives: bench_args, account,
# $B/cpu, next_port, wait_port, user_pid, stop_server, once, probe,
# run_workloads, col, wall, report.
#
# The CPU of a component comes from a cpuacct cgroup of its own where the
# controller is writable (nanoseconds, threads that ended included), else
# from /proc/PID/stat (10 ms ticks).  Each run's CPU is counted from the
# workload's start to half a second after its end.

# The settings both benchmarks take (their headers say what each means).
REPEAT=${REPEAT:-3}
IDLE_S=${IDLE_S:-60}
CHARS=${CHARS:-200}
SEQ=${SEQ:-20000}
STEPS=${STEPS:-60}
FPS=${FPS:-30}
COMPRESS=${COMPRESS:-3}
ENCODINGS=${ENCODINGS:-tight zrle copyrect raw}
SERVERS=${SERVERS:-mirage $PEER}

# bench_args VAR...: each is a whole number, REPEAT at least 1 and each
# of SERVERS mirage or $PEER, else exit 2.
bench_args() {
	for v in "$@"; do
		eval "val=\$$v"
		case $val in
		'' | *[!0-9]*) echo "$BENCH: $v=$val: not a whole number" >&2; exit 2 ;;
		esac
	done
	[ "$REPEAT" -ge 1 ] || { echo "$BENCH: REPEAT=0: nothing to measure" >&2; exit 2; }
	for s in $SERVERS; do
		[ "$s" = mirage ] || [ "$s" = "$PEER" ] ||
			{ echo "$BENCH: unknown server $s (mirage, $PEER)" >&2; exit 2; }
	done
}

# bench_cleanup: the servers stopped, the cgroups removed, then the harness's cleanup.
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
# account COMPONENT PID: count PID's CPU as COMPONENT's from now on.
account() {
	if $CAN_CG; then
		echo "$2" > "$CG/$1/cgroup.procs"
	fi
	grep -v "^$1 " "$B/procs" > "$B/procs.new" 2> /dev/null || true
	echo "$1 $2" >> "$B/procs.new"
	mv "$B/procs.new" "$B/procs"
}

# bench_start: after the compositor's harness: $B, the cleanup, the CPU
# accounting of $COMP, mwl (mirage-wayland), mvnc (mirage-vnc) and $PEER.
bench_start() {
	# The components whose CPU is counted; each run's seconds are their sum.
	COMPONENTS="$COMP mwl mvnc $PEER"
	mkdir -m 755 "$B"
	SRV=""
	SRV_PIDS=""
	CGROOT=/sys/fs/cgroup/cpuacct
	CGS=""
	CG="$CGROOT/mirage-$BENCH.$$"
	trap bench_cleanup EXIT
	trap 'exit 1' INT TERM

	# CPU accounting: a cgroup per component where the controller is writable.
	CAN_CG=false
	if [ -w "$CGROOT" ] && mkdir "$CG" 2> /dev/null; then
		CAN_CG=true
		CGS="$CG"
		for c in $COMPONENTS; do
			mkdir "$CG/$c"
			CGS="$CG/$c $CGS"
		done
	fi
	# $B/cpu prints "COMPONENT=NS ..." (run from the workloads).
	cat > "$B/cpu" <<EOF
#!/bin/sh
HZ=$(getconf CLK_TCK)
for c in $COMPONENTS; do
	if $CAN_CG; then
		v=\$(cat "$CG/\$c/cpuacct.usage")
	else
		p=\$(awk -v c=\$c '\$1 == c {print \$2}' "$B/procs")
		t=\$(awk '{print \$14 + \$15}' "/proc/\$p/stat" 2> /dev/null || echo 0)
		v=\$((t * 1000000000 / HZ))
	fi
	printf '%s=%s ' \$c \$v
done
echo
EOF
	chmod 755 "$B/cpu"
	: > "$B/procs"
}

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
stop_server() {
	for p in $SRV_PIDS; do kill "$p" 2> /dev/null || true; done
	for p in $SRV_PIDS; do
		for _ in $(seq 100); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
		kill -9 "$p" 2> /dev/null || true
	done
	SRV_PIDS=""
}

# once NAME: one run of workload NAME on $SRV with a new viewer; appends
# the CPU seconds (total, then each of $COMPONENTS) to $B/$SRV.NAME.cpus
# and the viewer's figures to .bytes and .updates.
once() {
	out="$B/$SRV.$1"
	sh "$B/prep-$1" > /dev/null 2>&1 || true
	"$VNC_CHECK" --port "$PORT" --timeout 60 --encodings "$ENCODINGS" --compress "$COMPRESS" \
		-- sh -c "sleep 1; cpu > $out.c0; s0=\$(date +%s.%N); sh $B/work-$1; sleep 0.5; cpu > $out.c1; echo \$s0 \$(date +%s.%N) >> $out.wall" \
		> "$out.out" 2>&1 ||
		{ cat "$out.out" >&2; fail "$SRV $1: the viewer failed"; }
	# name=ns pairs of c0 then c1: seconds per component and their sum.
	cat "$out.c0" "$out.c1" | tr ' ' '\n' | awk -F= -v comps="$COMPONENTS" 'NF == 2 {
		if ($1 in a) d[$1] = ($2 - a[$1]) / 1e9; else a[$1] = $2 }
		END { n = split(comps, c, " "); t = 0
			for (i = 1; i <= n; i++) t += d[c[i]]
			printf "%.3f", t
			for (i = 1; i <= n; i++) printf " %.3f", d[c[i]]
			printf "\n" }' >> "$out.cpus"
	for k in bytes updates; do
		sed -n "s/.* $k=\([0-9-]*\).*/\1/p" "$out.out" >> "$out.$k"
	done
	if [ "$SRV" = mirage ]; then
		as_user "$CTL_BIN" status "$MIRROR" > "$out.status" 2>&1 || true
	fi
}

# probe NAME: the median latency of 15 probes on $SRV ($B/probe-prep-NAME,
# when there is one, runs after the workload's preparation).
probe() {
	out="$B/$SRV.$1"
	sh "$B/prep-$1" > /dev/null 2>&1 || true
	[ -f "$B/probe-prep-$1" ] && sh "$B/probe-prep-$1" > /dev/null 2>&1
	if "$VNC_CHECK" --port "$PORT" --timeout 60 --encodings "$ENCODINGS" --compress "$COMPRESS" \
		--probe "sh $B/probe-$1" --probes 15 > "$out.l" 2>&1; then
		sed -n "s/.*latency_ms=\([0-9.-]*\).*/\1/p" "$out.l" > "$out.lat"
	else
		sed "s/^/  probe: /" "$out.l" >&2
		echo - > "$out.lat"
	fi
}

# run_workloads: REPEAT repetitions, each starting every server of
# $SERVERS in turn (the order rotated by the repetition) for one run of
# each of $WORKLOADS with a new viewer; then per server the latency
# probes and the idle period.
run_workloads() {
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
}

# col FILE N: the median of column N (and with "range" its min-max).
col() {
	awk -v n="$2" '{print $n}' "$1" | sort -n |
		awk -v r="${3:-}" '{v[NR] = $1} END {
			if (!NR) { print "-"; exit }
			if (r) printf "%.3f-%.3f", v[1], v[NR]; else print v[int((NR + 1) / 2)] }'
}
wall() { awk '{s += $2 - $1} END {printf "%.1f", NR ? s / NR : 0}' "$1"; }
# ratio A B: A/B to two places, "-" when either is missing or B is 0.
ratio() { echo "$1 $2" | awk '{if ($1 != "-" && $2 != "-" && $2 > 0) printf "%.2f", $1 / $2; else print "-"}'; }

# report TARGETS: the tables, after the script's own header lines: per
# server and workload the medians; mirage/$PEER ratios (TARGETS says what
# they aim at); mirage-wayland's counters.
report() {
	printf '%-7s %-7s %7s %-13s %6s %6s %6s %6s %10s %7s %7s\n' server workload cpu_s cpu_range \
		"${COMP}_s" mwl_s vnc_s wall_s bytes updates lat_ms
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
	if [ -f "$B/mirage.typing.cpus" ] && [ -f "$B/$PEER.typing.cpus" ]; then
		echo
		echo "mirage/$PEER (medians; $1);"
		echo "srv_cpu: the CPU without $COMP's (capture + VNC server), its seconds"
		printf '%-8s %6s %6s %6s %8s %16s\n' workload cpu bytes lat srv_cpu "srv_s mirage/$PEER"
		for w in $WORKLOADS idle; do
			for s in mirage $PEER; do
				awk '{print $3 + $4 + $5}' "$B/$s.$w.cpus" > "$B/$s.$w.srv"
			done
			printf '%-8s %6s %6s %6s %8s %16s\n' "$w" \
				"$(ratio "$(col "$B/mirage.$w.cpus" 1)" "$(col "$B/$PEER.$w.cpus" 1)")" \
				"$(ratio "$(col "$B/mirage.$w.bytes" 1)" "$(col "$B/$PEER.$w.bytes" 1)")" \
				"$(ratio "$(cat "$B/mirage.$w.lat" 2> /dev/null || echo -)" "$(cat "$B/$PEER.$w.lat" 2> /dev/null || echo -)")" \
				"$(ratio "$(col "$B/mirage.$w.srv" 1)" "$(col "$B/$PEER.$w.srv" 1)")" \
				"$(col "$B/mirage.$w.srv" 1)/$(col "$B/$PEER.$w.srv" 1)"
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
}
