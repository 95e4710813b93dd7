# SPDX-License-Identifier: MIT
# Sourced after lib.sh by the tests that follow the mirror with wl-check
# (the replica built only from the change records).  Gives:
#   check_start        starts wl-check follow $CHECK_MIRROR (wl-HEADLESS-1) as
#                      the user; its output (events, answers) in $T/check.out
#   check_cmd CMD      sends CMD, waits for its "done N" line, sets REPLY
#   replica_settled W  after settled W: the replica equals grim's screenshot
#                      (or $CHECK_REF, the picture the lib's settled took)
#   wait_event E [S]   waits up to S s (10) for "event E" in $T/check.out
: "${WL_CHECK:?set WL_CHECK to the wl-check executable}"
CHECK_MIRROR=${CHECK_MIRROR:-wl-HEADLESS-1}
CHECK_REF=${CHECK_REF:-$T/home/grim.ppm}

user_bin CHECK_BIN "$WL_CHECK"
CHECK_N=0

check_start() {
	mkfifo "$T/check.in"
	chmod 644 "$T/check.in"
	as_user "$CHECK_BIN" follow "$CHECK_MIRROR" < "$T/check.in" > "$T/check.out" 2> "$T/check.log" &
	CHECK_PID=$!
	PIDS="$PIDS $CHECK_PID"
	exec 3> "$T/check.in"
	for _ in $(seq 100); do
		grep -q '^event pipe' "$T/check.out" 2>/dev/null && return 0
		kill -0 "$CHECK_PID" 2>/dev/null || fail "wl-check exited"
		sleep 0.1
	done
	fail "wl-check did not map the mirror"
}

check_cmd() {
	CHECK_N=$((CHECK_N + 1))
	echo "$*" >&3
	for _ in $(seq 200); do
		REPLY=$(grep "^done $CHECK_N " "$T/check.out")
		[ -n "$REPLY" ] && return 0
		sleep 0.05
	done
	fail "wl-check did not answer \"$*\""
}

replica_settled() {
	settled "$1"
	check_cmd "ppm $T/home/replica.ppm"
	same_pixels "$CHECK_REF" "$T/home/replica.ppm" ||
		{ cp "$CHECK_REF" "$T/home/replica.ppm" "$T/" 2>/dev/null; fail "$1: the replica built from the records differs from the screen"; }
	pass "$1: the replica built from the records equals the screen"
}

wait_event() {
	for _ in $(seq $((${2:-10} * 10))); do
		grep -q "^event $1\$" "$T/check.out" && return 0
		sleep 0.1
	done
	return 1
}
